import { lazy, Suspense, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, ApiError, type Execution } from '../lib/api';
import { ms, pct } from '../lib/format';
import { ErrorBox, Spinner } from '../lib/ui';

const Charts = lazy(() => import('./Charts'));

export interface Dash {
  buckets: { start: string; [status: string]: number | string }[];
  success_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  running_now: number;
  queue_depth: Record<string, number>;
}

const STATUSES = ['completed', 'failed', 'cancelled', 'running', 'queued', 'paused'];

/** Without the server's /dashboard, the same figures from the executions list. */
async function fallback(hours: number): Promise<Dash> {
  const list = await api<Execution[]>('executions?limit=500');
  const now = Date.now();
  const from = now - hours * 3600_000;
  const step = hours <= 24 ? 3600_000 : 6 * 3600_000;
  const buckets: Dash['buckets'] = [];
  for (let t = Math.floor(from / step) * step; t <= now; t += step) buckets.push({ start: new Date(t).toISOString(), ...Object.fromEntries(STATUSES.map((s) => [s, 0])) });
  const recent = list.filter((e) => Date.parse(e.created_at) >= from);
  for (const e of recent) {
    const i = Math.floor((Date.parse(e.created_at) - Date.parse(buckets[0].start)) / step);
    const b = buckets[Math.max(0, Math.min(buckets.length - 1, i))];
    b[e.status] = ((b[e.status] as number) ?? 0) + 1;
  }
  const done = recent.filter((e) => e.status === 'completed' || e.status === 'failed');
  const durs = recent.map((e) => e.duration_ms).filter((d): d is number => d !== null).sort((a, b) => a - b);
  const q = (p: number) => (durs.length ? durs[Math.min(durs.length - 1, Math.floor(p * durs.length))] : null);
  const queued = list.filter((e) => e.status === 'queued');
  const depth: Record<string, number> = {};
  for (const e of queued) depth[e.priority] = (depth[e.priority] ?? 0) + 1;
  return {
    buckets,
    success_rate: done.length ? done.filter((e) => e.status === 'completed').length / done.length : null,
    p50_ms: q(0.5),
    p95_ms: q(0.95),
    running_now: list.filter((e) => e.status === 'running').length,
    queue_depth: depth,
  };
}

export default function Dashboard() {
  const [hours, setHours] = useState(24);
  const q = useQuery({
    queryKey: ['dashboard', hours],
    queryFn: async () => {
      try {
        const d = await api<any>(`dashboard?hours=${hours}`);
        // Counts may sit beside `start` or in a `counts`/`statuses` object: flatten them.
        const buckets = (d.buckets ?? []).map((b: any) => ({ ...(b.counts ?? b.statuses ?? {}), ...b }));
        return { ...d, buckets, queue_depth: d.queue_depth ?? {} } as Dash;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return fallback(hours);
        throw e;
      }
    },
    refetchInterval: 10_000,
  });
  const d = q.data;
  const total = d ? d.buckets.reduce((n, b) => n + STATUSES.reduce((m, s) => m + (Number(b[s]) || 0), 0), 0) : 0;
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Dashboard</h1>
          <p className="muted">How your workflows are doing.</p>
        </div>
        <select aria-label="Time range" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          <option value={1}>Last hour</option>
          <option value={24}>Last 24 hours</option>
          <option value={168}>Last 7 days</option>
        </select>
      </header>
      <ErrorBox error={q.error} />
      {!d ? (
        <Spinner />
      ) : (
        <>
          <div className="stats">
            <div className="stat card">
              <span className="stat-label">Runs</span>
              <span className="stat-value" data-testid="stat-runs">{total}</span>
            </div>
            <div className="stat card">
              <span className="stat-label">Success rate</span>
              <span className="stat-value">{pct(d.success_rate)}</span>
            </div>
            <div className="stat card">
              <span className="stat-label">p50 duration</span>
              <span className="stat-value">{ms(d.p50_ms)}</span>
            </div>
            <div className="stat card">
              <span className="stat-label">p95 duration</span>
              <span className="stat-value">{ms(d.p95_ms)}</span>
            </div>
            <div className="stat card">
              <span className="stat-label">Running now</span>
              <span className="stat-value">{d.running_now}</span>
            </div>
          </div>
          <Suspense fallback={<Spinner label="Loading charts" />}>
            <Charts data={d} statuses={STATUSES} />
          </Suspense>
        </>
      )}
    </div>
  );
}
