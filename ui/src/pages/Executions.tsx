import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { api, qs, type Execution, type Workflow } from '../lib/api';
import { ago, ms } from '../lib/format';
import { Empty, ErrorBox, Spinner, StatusBadge } from '../lib/ui';

const PAGE = 25;

export default function Executions() {
  const [sp, setSp] = useSearchParams();
  const workflow_id = sp.get('workflow_id') ?? '';
  const status = sp.get('status') ?? '';
  const [page, setPage] = useState(0);
  const wfs = useQuery({ queryKey: ['workflows-all'], queryFn: () => api<Workflow[]>('workflows?limit=500') });
  const names = new Map((wfs.data ?? []).map((w) => [w.id, w.name]));
  const q = useQuery({
    queryKey: ['executions', workflow_id, status, page],
    queryFn: () => api<Execution[]>(`executions${qs({ workflow_id, status, limit: PAGE + 1, offset: page * PAGE })}`),
    refetchInterval: 4000,
  });
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(sp);
    if (v) n.set(k, v);
    else n.delete(k);
    setSp(n);
    setPage(0);
  };
  const rows = (q.data ?? []).slice(0, PAGE);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Executions</h1>
          <p className="muted">Every run, newest first.</p>
        </div>
      </header>
      <div className="filters">
        <select aria-label="Filter by workflow" value={workflow_id} onChange={(e) => set('workflow_id', e.target.value)}>
          <option value="">All workflows</option>
          {wfs.data?.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <select aria-label="Filter by status" value={status} onChange={(e) => set('status', e.target.value)}>
          <option value="">All statuses</option>
          {['pending', 'queued', 'running', 'paused', 'completed', 'failed', 'cancelled'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : rows.length === 0 ? (
        <Empty>No executions match.</Empty>
      ) : (
        <div className="card table-wrap">
          <table className="table" aria-label="Executions">
            <thead>
              <tr>
                <th>Run</th>
                <th>Workflow</th>
                <th>Status</th>
                <th className="num">Priority</th>
                <th>Started</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/executions/${e.id}`} className="mono">
                      {e.id.slice(-12)}
                    </Link>
                  </td>
                  <td>{names.get(e.workflow_id) ?? e.workflow_id.slice(-8)} <span className="muted small">v{e.workflow_version}</span></td>
                  <td>
                    <StatusBadge status={e.status} />
                  </td>
                  <td className="num">{e.priority}</td>
                  <td>{ago(e.started_at ?? e.created_at)}</td>
                  <td className="num">{ms(e.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        <button className="btn sm" disabled={page === 0} onClick={() => setPage(page - 1)}>
          ← Newer
        </button>
        <span className="small muted">Page {page + 1}</span>
        <button className="btn sm" disabled={(q.data?.length ?? 0) <= PAGE} onClick={() => setPage(page + 1)}>
          Older →
        </button>
      </nav>
    </div>
  );
}
