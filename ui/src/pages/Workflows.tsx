import { useMemo, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs, type Workflow } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { ago, download, pct } from '../lib/format';
import { Empty, ErrorBox, Modal, Spinner, StatusBadge, useToast } from '../lib/ui';

/** The workflow as a file: the seed's WorkflowCreate, what import reads back. */
export function exportDoc(w: Workflow) {
  return {
    name: w.name,
    description: w.description ?? null,
    category: w.category ?? null,
    tags: w.tags ?? [],
    priority: w.priority,
    definition: w.definition,
  };
}

function ShareDialog({ wf, onClose }: { wf: Workflow; onClose: () => void }) {
  const toast = useToast();
  const { user } = useAuth();
  const shares = useQuery({ queryKey: ['shares', wf.id], queryFn: () => api<any[]>(`workflows/${wf.id}/shares`) });
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<any[]>('users'), enabled: can(user, 'admin') });
  const [rows, setRows] = useState<{ user_id: string; actions: string[] }[] | null>(null);
  const list = rows ?? shares.data?.map((s) => ({ user_id: s.user_id, actions: s.actions })) ?? [];
  const [newUser, setNewUser] = useState('');
  const save = useMutation({
    mutationFn: () => api(`workflows/${wf.id}/shares`, { method: 'PUT', body: { shares: list } }),
    onSuccess: () => {
      toast('Shares saved');
      onClose();
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const name = (id: string) => users.data?.find((u) => u.id === id)?.username ?? id;
  return (
    <Modal title={`Share “${wf.name}”`} onClose={onClose}>
      {shares.isLoading ? <Spinner /> : <ErrorBox error={shares.error} />}
      <table className="table compact">
        <thead>
          <tr>
            <th>User</th>
            {['read', 'update', 'execute'].map((a) => (
              <th key={a}>{a}</th>
            ))}
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((r, i) => (
            <tr key={r.user_id}>
              <td>{name(r.user_id)}</td>
              {['read', 'update', 'execute'].map((a) => (
                <td key={a}>
                  <input
                    type="checkbox"
                    aria-label={`${a} for ${name(r.user_id)}`}
                    checked={r.actions.includes(a)}
                    onChange={(e) => {
                      const next = list.map((x, j) =>
                        j !== i ? x : { ...x, actions: e.target.checked ? [...x.actions, a] : x.actions.filter((y: string) => y !== a) },
                      );
                      setRows(next);
                    }}
                  />
                </td>
              ))}
              <td>
                <button className="btn ghost sm" onClick={() => setRows(list.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        {users.data ? (
          <select aria-label="User to share with" value={newUser} onChange={(e) => setNewUser(e.target.value)}>
            <option value="">Choose a user…</option>
            {users.data
              .filter((u) => u.id !== wf.created_by && !list.some((r) => r.user_id === u.id))
              .map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username} ({u.role})
                </option>
              ))}
          </select>
        ) : (
          <input aria-label="User id to share with" placeholder="User id" value={newUser} onChange={(e) => setNewUser(e.target.value)} />
        )}
        <button
          className="btn"
          disabled={!newUser}
          onClick={() => {
            setRows([...list, { user_id: newUser, actions: ['read'] }]);
            setNewUser('');
          }}
        >
          Add
        </button>
      </div>
      <footer className="modal-foot">
        <button className="btn" onClick={onClose}>
          Cancel
        </button>
        <button className="btn primary" onClick={() => save.mutate()} disabled={save.isPending}>
          Save shares
        </button>
      </footer>
    </Modal>
  );
}

export default function Workflows() {
  const { user } = useAuth();
  const edit = can(user, 'edit');
  const nav = useNavigate();
  const toast = useToast();
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [category, setCategory] = useState('');
  const [tag, setTag] = useState('');
  const [sharing, setSharing] = useState<Workflow | null>(null);
  const [deleting, setDeleting] = useState<Workflow | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const q = useQuery({
    queryKey: ['workflows', search, status, category, tag],
    queryFn: () => api<Workflow[]>(`workflows${qs({ limit: 200, search, status, category, tag })}`),
  });
  const all = useQuery({ queryKey: ['workflows-all'], queryFn: () => api<Workflow[]>('workflows?limit=500') });
  const categories = useMemo(() => [...new Set((all.data ?? []).map((w) => w.category).filter(Boolean))] as string[], [all.data]);
  const tags = useMemo(() => [...new Set((all.data ?? []).flatMap((w) => w.tags ?? []))], [all.data]);
  const refresh = () => {
    qc.invalidateQueries({ queryKey: ['workflows'] });
    qc.invalidateQueries({ queryKey: ['workflows-all'] });
  };
  const create = useMutation({
    mutationFn: (body: unknown) => api<Workflow>('workflows', { body }),
    onSuccess: (w) => {
      refresh();
      toast(`Created “${w.name}”`);
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const del = useMutation({
    mutationFn: (w: Workflow) => api(`workflows/${w.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      refresh();
      setDeleting(null);
      toast('Workflow deleted');
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const importFile = async (f: File) => {
    try {
      const doc = JSON.parse(await f.text());
      const body = doc.definition ? doc : { name: f.name.replace(/\.json$/, ''), definition: doc };
      let w: Workflow;
      try {
        w = await api<Workflow>('workflows', { body });
      } catch (e) {
        // The name is taken (the file was exported from here): keep everything else as it is.
        if ((e as any)?.status !== 409) throw e;
        w = await api<Workflow>('workflows', { body: { ...body, name: `${body.name} (imported ${new Date().toISOString().slice(0, 16).replace('T', ' ')})`.slice(0, 255) } });
      }
      refresh();
      toast(`Imported “${w.name}”`);
      nav(`/workflows/${w.id}/design`);
    } catch (e) {
      toast(e instanceof SyntaxError ? 'That file is not valid JSON' : (e as Error).message, 'error');
    }
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Workflows</h1>
          <p className="muted">Design, run and monitor your automations.</p>
        </div>
        <div className="row">
          {edit && (
            <>
              <input
                ref={fileRef}
                type="file"
                accept="application/json,.json"
                hidden
                aria-label="Import workflow file"
                data-testid="import-file"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  if (f) importFile(f);
                  e.target.value = '';
                }}
              />
              <button className="btn" onClick={() => fileRef.current?.click()}>
                Import JSON
              </button>
              <Link className="btn primary" to="/workflows/new/design">
                + New workflow
              </Link>
            </>
          )}
        </div>
      </header>
      <div className="filters" role="search">
        <input type="search" placeholder="Search workflows…" aria-label="Search workflows" value={search} onChange={(e) => setSearch(e.target.value)} />
        <select aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">All statuses</option>
          {['draft', 'active', 'inactive', 'archived'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Filter by category" value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">All categories</option>
          {categories.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Filter by tag" value={tag} onChange={(e) => setTag(e.target.value)}>
          <option value="">All tags</option>
          {tags.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : q.data && q.data.length === 0 ? (
        <Empty>No workflows yet{edit ? ' — create one or import a JSON file.' : '.'}</Empty>
      ) : (
        <div className="card table-wrap">
          <table className="table" aria-label="Workflows">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Category</th>
                <th className="num">Steps</th>
                <th className="num">Runs</th>
                <th className="num">Success</th>
                <th>Last run</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {q.data?.map((w) => (
                <tr key={w.id} data-testid="workflow-row">
                  <td>
                    <Link to={`/workflows/${w.id}/design`} className="strong">
                      {w.name}
                    </Link>
                    <div className="muted small">
                      {w.description}
                      {w.tags?.map((t) => (
                        <span className="tag" key={t}>
                          {t}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td>
                    <StatusBadge status={w.status} />
                  </td>
                  <td>{w.category ?? '—'}</td>
                  <td className="num">{w.component_count ?? w.definition?.components?.length}</td>
                  <td className="num">{w.executions ?? w.execution_count ?? 0}</td>
                  <td className="num">{pct(w.success_rate)}</td>
                  <td>{ago(w.last_run_at ?? w.last_execution?.created_at ?? (typeof w.last_execution === 'string' ? w.last_execution : null))}</td>
                  <td className="actions">
                    <Link className="btn ghost sm" to={`/executions?workflow_id=${w.id}`}>
                      Runs
                    </Link>
                    <Link className="btn ghost sm" to={`/workflows/${w.id}/webhooks`}>
                      Webhooks
                    </Link>
                    <button className="btn ghost sm" aria-label={`Export ${w.name}`} onClick={() => download(`${w.name.replace(/[^\w.-]+/g, '_')}.json`, JSON.stringify(exportDoc(w), null, 2))}>
                      Export
                    </button>
                    {edit && (
                      <>
                        <button
                          className="btn ghost sm"
                          aria-label={`Duplicate ${w.name}`}
                          onClick={() => create.mutate({ ...exportDoc(w), name: `${w.name} (copy)`.slice(0, 255) })}
                        >
                          Duplicate
                        </button>
                        <button className="btn ghost sm" aria-label={`Share ${w.name}`} onClick={() => setSharing(w)}>
                          Share
                        </button>
                        <button className="btn ghost sm danger" aria-label={`Delete ${w.name}`} onClick={() => setDeleting(w)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sharing && <ShareDialog wf={sharing} onClose={() => setSharing(null)} />}
      {deleting && (
        <Modal title="Delete workflow" onClose={() => setDeleting(null)}>
          <p>
            Delete <strong>{deleting.name}</strong> and its versions? This cannot be undone.
          </p>
          <footer className="modal-foot">
            <button className="btn" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button className="btn danger-solid" onClick={() => del.mutate(deleting)}>
              Delete
            </button>
          </footer>
        </Modal>
      )}
    </div>
  );
}
