import { lazy, Suspense, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../lib/api';
import { ms, pct } from '../lib/format';
import { ErrorBox, Spinner } from '../lib/ui';

const Charts = lazy(() => import('./Charts'));

/** The server's GET /api/v1/dashboard, with each bucket's counts beside its start. */
export interface Dash {
  buckets: { start: string; [status: string]: number | string }[];
  bucket_seconds: number;
  total: number;
  success_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  running_now: number;
  /** Null unless the caller may see the engine's load (metrics.read: admins). */
  queue_depth: Record<string, number> | null;
  truncated: boolean;
}

const STATUSES = ['completed', 'failed', 'cancelled', 'running', 'queued', 'paused', 'pending'];

async function load(hours: number): Promise<Dash> {
  const d = await api<any>(`dashboard?hours=${hours}`);
  const buckets = (d.buckets ?? []).map((b: any) => ({ ...b.counts, start: b.start }));
  return { ...d, buckets };
}

export default function Dashboard() {
  const [hours, setHours] = useState(24);
  const q = useQuery({ queryKey: ['dashboard', hours], queryFn: () => load(hours), refetchInterval: 10_000 });
  const d = q.data;
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
          <option value={720}>Last 30 days</option>
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
              <span className="stat-value" data-testid="stat-runs">{d.total}</span>
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
          {d.truncated && (
            <p className="muted small" role="note">
              Busy window: these figures cover the newest 20,000 executions of it.
            </p>
          )}
          <Suspense fallback={<Spinner label="Loading charts" />}>
            <Charts data={d} statuses={STATUSES} />
          </Suspense>
        </>
      )}
    </div>
  );
}
