// One schedule (/schedules/:id): its settings, its next five fire times, pause and resume,
// editing, deleting (after a confirmation), and its latest fires, refreshed every 2 s so a
// schedule that fires every second visibly does.
import { useCallback, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schedule, type Workflow } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { ago, inZone } from '../lib/format';
import { Empty, ErrorBox, JsonView, Modal, Spinner, StatusBadge, useToast } from '../lib/ui';
import { CATCH_UP, draftOf, OVERLAP, parseParameters, ScheduleFields, splitError, type Draft, type FieldErrors } from './ScheduleForm';

const REFRESH_MS = 2000;

function EditDialog({ schedule, onClose }: { schedule: Schedule; onClose: () => void }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(() => draftOf(schedule));
  const [local, setLocal] = useState<FieldErrors>({});
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Schedule>(`schedules/${schedule.id}`, { method: 'PATCH', body }),
    onSuccess: (s) => {
      qc.setQueryData(['schedule', s.id], s);
      qc.invalidateQueries({ queryKey: ['schedules'] });
      toast(`Saved “${s.name}”`);
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const params = parseParameters(draft.parameters);
    if (params.error) {
      save.reset();
      setLocal({ parameters: params.error });
      return;
    }
    setLocal({});
    // Only what changed: a new expression or zone moves the schedule on from now.
    const body: Record<string, unknown> = {};
    const name = draft.name.trim();
    if (name && name !== schedule.name) body.name = name;
    if (draft.cron.trim() !== schedule.cron) body.cron = draft.cron.trim();
    if (draft.timezone.trim() !== schedule.timezone) body.timezone = draft.timezone.trim();
    if (draft.overlap !== schedule.overlap) body.overlap = draft.overlap;
    if (draft.catch_up !== schedule.catch_up) body.catch_up = draft.catch_up;
    if (JSON.stringify(params.value) !== JSON.stringify(schedule.parameters ?? {})) body.parameters = params.value;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    save.mutate(body);
  };
  const { fields, rest } = splitError(save.error);
  return (
    <Modal title={`Edit “${schedule.name}”`} onClose={onClose} wide>
      <form className="sched-form in-modal" onSubmit={submit} aria-label="Edit schedule">
        <ScheduleFields prefix="edit" draft={draft} onChange={setDraft} errors={{ ...fields, ...local }} />
        <ErrorBox error={rest} title="Could not save the schedule" />
        <footer className="modal-foot">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save changes'}
          </button>
        </footer>
      </form>
    </Modal>
  );
}

const label = (list: { value: string; label: string }[], v: string) => list.find((o) => o.value === v)?.label ?? v;

export default function ScheduleView() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const toast = useToast();
  const nav = useNavigate();
  const { user } = useAuth();
  const edit = can(user, 'edit');
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const closeEdit = useCallback(() => setEditing(false), []);
  const closeConfirm = useCallback(() => setConfirming(false), []);
  const q = useQuery({
    queryKey: ['schedule', id],
    queryFn: () => api<Schedule>(`schedules/${id}`),
    refetchInterval: (query) => (query.state.error ? false : REFRESH_MS),
  });
  const s = q.data;
  const wfId = s?.workflow_id;
  // The key and shape the designer and the execution view use.
  const wf = useQuery({ queryKey: ['workflow', wfId], queryFn: () => api<Workflow>(`workflows/${wfId}`), enabled: !!wfId });
  const toggle = useMutation({
    mutationFn: (paused: boolean) => api<Schedule>(`schedules/${id}/${paused ? 'resume' : 'pause'}`, { method: 'POST' }),
    onSuccess: (n) => {
      qc.setQueryData(['schedule', id], n);
      qc.invalidateQueries({ queryKey: ['schedules'] });
      toast(n.paused ? 'Paused: no more fires until it is resumed' : 'Resumed: it fires from now on');
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const del = useMutation({
    mutationFn: () => api(`schedules/${id}`, { method: 'DELETE' }),
    onSuccess: () => {
      toast(`Deleted “${s?.name}”`);
      qc.removeQueries({ queryKey: ['schedule', id] });
      qc.invalidateQueries({ queryKey: ['schedules'] });
      nav('/schedules');
    },
  });
  if (q.isLoading) return <Spinner />;
  if (!s)
    return (
      <div className="page">
        <p className="crumbs">
          <Link to="/schedules">← Schedules</Link>
        </p>
        <ErrorBox error={q.error} />
      </div>
    );
  const workflow = wf.data;
  return (
    <div className="page">
      <p className="crumbs">
        <Link to="/schedules">← Schedules</Link>
      </p>
      <header className="page-head">
        <div>
          <div className="title-row">
            <h1>{s.name}</h1>
            <StatusBadge status={s.paused ? 'paused' : 'active'} />
          </div>
          <p className="muted in-text">
            Starts{' '}
            <Link to={`/workflows/${s.workflow_id}/design`}>{workflow?.name ?? `workflow ${s.workflow_id.slice(-12)}`}</Link> at{' '}
            <code>{s.cron}</code> in {s.timezone}.
          </p>
        </div>
        {edit && (
          <div className="row">
            <button className="btn" disabled={toggle.isPending} onClick={() => toggle.mutate(s.paused)}>
              {s.paused ? 'Resume' : 'Pause'}
            </button>
            <button className="btn" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button className="btn danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          </div>
        )}
      </header>
      {q.error && <ErrorBox error={q.error} title="Could not refresh" />}
      <div className="sched-grid">
        <section className="card sched-card" aria-labelledby="sched-settings">
          <h2 id="sched-settings">Settings</h2>
          <dl className="kv">
            <dt>Cron expression</dt>
            <dd>
              <code>{s.cron}</code>
            </dd>
            <dt>Time zone</dt>
            <dd>{s.timezone}</dd>
            <dt>Overlap</dt>
            <dd>{label(OVERLAP, s.overlap)}</dd>
            <dt>Catch-up</dt>
            <dd>{label(CATCH_UP, s.catch_up)}</dd>
            <dt>State</dt>
            <dd data-testid="schedule-state">{s.paused ? 'paused' : 'active'}</dd>
            <dt>Created</dt>
            <dd>
              <time dateTime={s.created_at} title={s.created_at}>
                {ago(s.created_at)}
              </time>
            </dd>
            <dt>Updated</dt>
            <dd>
              <time dateTime={s.updated_at} title={s.updated_at}>
                {ago(s.updated_at)}
              </time>
            </dd>
            <dt>Parameters</dt>
            <dd>
              {Object.keys(s.parameters ?? {}).length === 0 ? <span className="muted">none</span> : <JsonView value={s.parameters} label="Parameters" />}
            </dd>
          </dl>
        </section>
        <section className="card sched-card" aria-labelledby="sched-next">
          <h2 id="sched-next">Next fire times</h2>
          {s.next_fires.length === 0 ? (
            <p className="muted" data-testid="no-next-fires">
              {s.paused ? 'Paused: nothing is due. Resuming moves it on from then; the times it was paused over are not caught up.' : 'No fire time is coming.'}
            </p>
          ) : (
            <ol className="next-fires" aria-labelledby="sched-next" data-testid="next-fires">
              {s.next_fires.map((t) => (
                <li key={t}>
                  <time dateTime={t} title={t}>
                    {inZone(t, s.timezone)}
                  </time>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
      <section aria-labelledby="sched-fires">
        <div className="panel-head">
          <h2 id="sched-fires">Fires</h2>
          <p className="muted small">The latest 20, newest first, times in {s.timezone}; refreshed every {REFRESH_MS / 1000} s.</p>
        </div>
        {s.fires.length === 0 ? (
          <Empty>No fires yet.</Empty>
        ) : (
          <div className="card table-wrap">
            <table className="table" aria-label="Fires">
              <thead>
                <tr>
                  <th>Due at</th>
                  <th>Status</th>
                  <th>Execution</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {s.fires.map((f) => (
                  <tr key={f.fire_at} data-testid="fire-row" data-status={f.status}>
                    <td>
                      <time dateTime={f.fire_at} title={f.fire_at}>
                        {inZone(f.fire_at, s.timezone)}
                      </time>
                    </td>
                    <td>
                      <StatusBadge status={f.status} />
                    </td>
                    <td>
                      {f.execution_id ? (
                        <Link to={`/executions/${f.execution_id}`} className="mono">
                          {f.execution_id.slice(-12)}
                        </Link>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td className={f.status === 'refused' ? 'bad' : ''}>{f.detail ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {editing && <EditDialog schedule={s} onClose={closeEdit} />}
      {confirming && (
        <Modal title={`Delete “${s.name}”?`} onClose={closeConfirm}>
          <p>The schedule and its fire history are removed, and it starts no more runs. The runs it started stay. This cannot be undone.</p>
          <ErrorBox error={del.error} />
          <footer className="modal-foot">
            <button className="btn" onClick={closeConfirm}>
              Cancel
            </button>
            <button className="btn danger-solid" disabled={del.isPending} onClick={() => del.mutate()}>
              Delete schedule
            </button>
          </footer>
        </Modal>
      )}
    </div>
  );
}
