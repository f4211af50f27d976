// uPlot charts, in their own chunk (loaded by the dashboard only).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Dash } from './Dashboard';

const COLORS: Record<string, string> = {
  completed: '#16a34a',
  failed: '#dc2626',
  cancelled: '#9ca3af',
  running: '#2563eb',
  queued: '#a855f7',
  paused: '#f59e0b',
  pending: '#64748b',
};

function Plot({ opts, data, label }: { opts: Omit<uPlot.Options, 'width' | 'height'>; data: uPlot.AlignedData; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current!;
    const text = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#888';
    const grid = getComputedStyle(document.documentElement).getPropertyValue('--border').trim() || '#ddd';
    const axes = (opts.axes ?? [{}, {}]).map((a) => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, ...a }));
    const plot = new uPlot({ ...opts, axes, width: el.clientWidth || 600, height: 260 } as uPlot.Options, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [opts, data]);
  return <div ref={host} className="chart" role="img" aria-label={label} data-testid="chart" />;
}

export default function Charts({ data, statuses }: { data: Dash; statuses: string[] }) {
  const xs = data.buckets.map((b) => Date.parse(b.start) / 1000);
  const present = statuses.filter((s) => data.buckets.some((b) => Number(b[s]) > 0));
  const shown = present.length ? present : ['completed', 'failed'];
  // Stacked: each series is the sum of itself and those below it.
  const stacked: number[][] = [];
  let acc = xs.map(() => 0);
  for (const s of shown) {
    acc = acc.map((v, i) => v + (Number(data.buckets[i][s]) || 0));
    stacked.push([...acc]);
  }
  const bars = uPlot.paths.bars!({ size: [0.7, 40] });
  const runsOpts: Omit<uPlot.Options, 'width' | 'height'> = {
    title: 'Executions per status',
    scales: { x: { time: true } },
    legend: { show: true },
    series: [
      {},
      ...shown
        .map((s) => ({ label: s, fill: COLORS[s] ?? '#64748b', stroke: COLORS[s] ?? '#64748b', paths: bars, points: { show: false } }))
        .reverse(),
    ],
  };
  const runsData = [xs, ...[...stacked].reverse()] as uPlot.AlignedData;
  const rate = data.buckets.map((b) => {
    const ok = Number(b.completed) || 0;
    const bad = Number(b.failed) || 0;
    return ok + bad ? (100 * ok) / (ok + bad) : null;
  });
  const rateOpts: Omit<uPlot.Options, 'width' | 'height'> = {
    title: 'Success rate (%)',
    scales: { x: { time: true }, y: { range: [0, 100] } },
    series: [{}, { label: 'success %', stroke: '#6366f1', width: 2, fill: 'rgba(99,102,241,.12)', spanGaps: true }],
  };
  const depth = Object.entries(data.queue_depth ?? {}).sort(([a], [b]) => Number(b) - Number(a));
  return (
    <div className="charts">
      <div className="card chart-card">
        <Plot opts={runsOpts} data={runsData} label="Executions per status over time" />
      </div>
      <div className="card chart-card">
        <Plot opts={rateOpts} data={[xs, rate] as uPlot.AlignedData} label="Success rate over time" />
      </div>
      <div className="card chart-card">
        <h3>Queue depth by priority</h3>
        {data.queue_depth === null ? (
          <p className="muted">The engine's queue is everyone's load: admins see it here and in /metrics.</p>
        ) : depth.every(([, n]) => n === 0) ? (
          <p className="muted">The queue is empty.</p>
        ) : (
          <ul className="depth">
            {depth.filter(([, n]) => n > 0).map(([p, n]) => (
              <li key={p}>
                <span>priority {p}</span>
                <span className="depth-bar" style={{ width: `${Math.min(100, n * 10)}%` }} />
                <strong>{n}</strong>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
