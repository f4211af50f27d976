// Every run, newest first, filtered by workflow and status. The child executions of sub_workflow
// and for_each steps are hidden unless asked for (?children=1): the list reads on past them (a
// few thousand at a time), so the top-level runs of a ten-thousand-item for_each stay in view.
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { api, qs, type Execution, type Workflow } from '../lib/api';
import { ago, ms } from '../lib/format';
import { Empty, ErrorBox, Spinner, StatusBadge } from '../lib/ui';

const PAGE = 25;
/** The requests of one page's read past child executions: a first small one, then the server's largest. */
const CHUNKS = [100, 500, 500, 500];

interface Page {
  rows: Execution[];
  /** The offset the next page starts at. */
  next: number;
  more: boolean;
  /** Child executions passed over. */
  hidden: number;
  /** Rows read. */
  read: number;
  requests: number;
}

/** A page of executions from `start`: every one, or the top-level ones only, read on past children. */
async function pageOf(filters: Record<string, string>, start: number, hide: boolean): Promise<Page> {
  if (!hide) {
    const got = await api<Execution[]>(`executions${qs({ ...filters, limit: PAGE + 1, offset: start })}`);
    return { rows: got.slice(0, PAGE), next: start + PAGE, more: got.length > PAGE, hidden: 0, read: got.length, requests: 1 };
  }
  const rows: Execution[] = [];
  let hidden = 0;
  let offset = start;
  let requests = 0;
  for (const size of CHUNKS) {
    const got = await api<Execution[]>(`executions${qs({ ...filters, limit: size, offset })}`);
    requests++;
    for (let i = 0; i < got.length; i++) {
      if (got[i].parent) {
        hidden++;
        continue;
      }
      if (rows.length === PAGE) return { rows, next: offset + i, more: true, hidden, read: offset + i - start, requests };
      rows.push(got[i]);
    }
    offset += got.length;
    if (got.length < size) return { rows, next: offset, more: false, hidden, read: offset - start, requests };
  }
  return { rows, next: offset, more: true, hidden, read: offset - start, requests };
}

export default function Executions() {
  const [sp, setSp] = useSearchParams();
  const workflow_id = sp.get('workflow_id') ?? '';
  const status = sp.get('status') ?? '';
  // The checkbox's own state, the address following it (as on the Approvals page).
  const [hide, setHide] = useState(() => sp.get('children') !== '1');
  // Where each page starts: with children hidden, a page reads on past them.
  const [starts, setStarts] = useState<number[]>([0]);
  const [page, setPage] = useState(0);
  const wfs = useQuery({ queryKey: ['workflows-all'], queryFn: () => api<Workflow[]>('workflows?limit=500') });
  const names = new Map((wfs.data ?? []).map((w) => [w.id, w.name]));
  const start = starts[page] ?? 0;
  const q = useQuery({
    queryKey: ['executions', workflow_id, status, hide, start],
    queryFn: () => pageOf({ workflow_id, status }, start, hide),
    // A page that had to read past many children is read again less often.
    refetchInterval: (q) => ((q.state.data?.requests ?? 1) > 1 ? 15000 : 4000),
  });
  const reset = () => {
    setStarts([0]);
    setPage(0);
  };
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(sp);
    if (v) n.set(k, v);
    else n.delete(k);
    setSp(n);
    reset();
  };
  const toggleHide = (v: boolean) => {
    setHide(v);
    const n = new URLSearchParams(sp);
    if (v) n.delete('children');
    else n.set('children', '1');
    setSp(n, { replace: true });
    reset();
  };
  const older = () => {
    if (!q.data) return;
    const next = q.data.next;
    setStarts((s) => [...s.slice(0, page + 1), next]);
    setPage(page + 1);
  };
  const rows = q.data?.rows ?? [];
  const hidden = q.data?.hidden ?? 0;
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Executions</h1>
          <p className="muted">Every run, newest first.</p>
        </div>
      </header>
      <div className="filters exec-filters">
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
        <label className="inline">
          <input type="checkbox" checked={hide} onChange={(e) => toggleHide(e.target.checked)} /> Hide child executions
        </label>
        {hide && hidden > 0 && (
          <span className="muted small" data-testid="children-hidden">
            {hidden.toLocaleString('en')} child execution{hidden === 1 ? '' : 's'} hidden on this page
          </span>
        )}
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : rows.length === 0 ? (
        <Empty>
          {q.data?.more
            ? `Only child executions among the ${q.data.read.toLocaleString('en')} runs read; “Older →” reads on past them.`
            : 'No executions match.'}
        </Empty>
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
                    {e.parent && (
                      <span className="muted small in-text">
                        {' '}
                        ↳ child of{' '}
                        <Link to={`/executions/${e.parent.execution_id}?step=${encodeURIComponent(e.parent.component_id)}`} className="mono" aria-label={`Parent execution ${e.parent.execution_id.slice(-8)}`}>
                          {e.parent.execution_id.slice(-8)}
                        </Link>
                        {e.parent.item !== null && e.parent.item !== undefined ? ` · item ${e.parent.item}` : ''}
                      </span>
                    )}
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
        <button className="btn sm" disabled={!q.data?.more} onClick={older}>
          Older →
        </button>
      </nav>
    </div>
  );
}
