import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, qs } from '../../lib/api';
import { Empty, ErrorBox, Spinner } from '../../lib/ui';

const PAGE = 50;

export default function Audit() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [outcome, setOutcome] = useState('');
  const [page, setPage] = useState(0);
  const q = useQuery({
    queryKey: ['audit', actor, action, outcome, page],
    queryFn: () => api<any[]>(`audit${qs({ actor, action, outcome, limit: PAGE + 1, offset: page * PAGE })}`),
  });
  const rows = (q.data ?? []).slice(0, PAGE);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Audit log</h1>
          <p className="muted">Every change and every refusal, append-only.</p>
        </div>
      </header>
      <div className="filters">
        <input aria-label="Filter by actor" placeholder="Actor" value={actor} onChange={(e) => { setActor(e.target.value); setPage(0); }} />
        <input aria-label="Filter by action" placeholder="Action (workflow.update…)" value={action} onChange={(e) => { setAction(e.target.value); setPage(0); }} />
        <select aria-label="Filter by outcome" value={outcome} onChange={(e) => { setOutcome(e.target.value); setPage(0); }}>
          <option value="">Any outcome</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
        </select>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? <Spinner /> : rows.length === 0 ? <Empty>No entries match.</Empty> : (
        <div className="card table-wrap">
          <table className="table compact" aria-label="Audit entries">
            <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Resource</th><th>Outcome</th><th>Details</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td className="mono small">{r.at?.replace('T', ' ').slice(0, 19)}</td>
                  <td>{r.actor ?? 'anonymous'}</td>
                  <td><code>{r.action}</code></td>
                  <td className="mono small">{r.resource}</td>
                  <td><span className={`badge ${r.outcome === 'denied' ? 'st-failed' : 'st-completed'}`}>{r.outcome}</span></td>
                  <td className="small">{r.details ? JSON.stringify(r.details).slice(0, 120) : ''}{r.count > 1 ? ` ×${r.count}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        <button className="btn sm" disabled={page === 0} onClick={() => setPage(page - 1)}>← Newer</button>
        <span className="small muted">Page {page + 1}</span>
        <button className="btn sm" disabled={(q.data?.length ?? 0) <= PAGE} onClick={() => setPage(page + 1)}>Older →</button>
      </nav>
    </div>
  );
}
