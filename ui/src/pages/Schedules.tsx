// Cron schedules of workflows (/api/v1/schedules): the list of those on the workflows the caller
// may read, and a form to create one. A schedule's own page (./ScheduleView) shows its fires.
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs, type Schedule, type Workflow } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { inZone } from '../lib/format';
import { Empty, ErrorBox, Spinner, StatusBadge, useToast } from '../lib/ui';
import { emptyDraft, parseParameters, ScheduleFields, splitError, useWorkflows, type Draft, type FieldErrors } from './ScheduleForm';

function NewSchedule({ workflows, workflowId }: { workflows: Workflow[]; workflowId: string }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(() => emptyDraft(workflowId));
  const [local, setLocal] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Schedule>('schedules', { body }),
    onSuccess: (s) => {
      toast(`Schedule “${s.name}” created`);
      setDraft({ ...emptyDraft(draft.workflow_id), timezone: draft.timezone });
      qc.invalidateQueries({ queryKey: ['schedules'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const params = parseParameters(draft.parameters);
    if (params.error) {
      create.reset();
      setLocal({ parameters: params.error });
      return;
    }
    setLocal({});
    const name = draft.name.trim();
    create.mutate({
      workflow_id: draft.workflow_id,
      cron: draft.cron.trim(),
      timezone: draft.timezone.trim(),
      overlap: draft.overlap,
      catch_up: draft.catch_up,
      parameters: params.value,
      paused: draft.paused,
      ...(name ? { name } : {}),
    });
  };
  const { fields, rest } = splitError(create.error);
  return (
    <form className="card sched-form" onSubmit={submit} aria-labelledby="new-schedule-title">
      <h2 id="new-schedule-title">New schedule</h2>
      <ScheduleFields prefix="new" draft={draft} onChange={setDraft} errors={{ ...fields, ...local }} workflows={workflows} />
      <ErrorBox error={rest} title="Could not create the schedule" />
      <div className="row form-actions">
        <label className="inline">
          <input type="checkbox" checked={draft.paused} onChange={(e) => setDraft({ ...draft, paused: e.target.checked })} /> Create it paused
        </label>
        <button className="btn primary" type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create schedule'}
        </button>
      </div>
    </form>
  );
}

export default function Schedules() {
  const qc = useQueryClient();
  const toast = useToast();
  const { user } = useAuth();
  const edit = can(user, 'edit');
  const [sp, setSp] = useSearchParams();
  const workflow_id = sp.get('workflow_id') ?? '';
  const wfs = useWorkflows();
  const names = new Map((wfs.data ?? []).map((w) => [w.id, w.name]));
  const q = useQuery({
    queryKey: ['schedules', workflow_id],
    queryFn: () => api<Schedule[]>(`schedules${qs({ workflow_id })}`),
    refetchInterval: 5000,
  });
  const toggle = useMutation({
    mutationFn: (s: Schedule) => api<Schedule>(`schedules/${s.id}/${s.paused ? 'resume' : 'pause'}`, { method: 'POST' }),
    onSuccess: (s) => toast(`${s.paused ? 'Paused' : 'Resumed'} “${s.name}”`),
    onError: (e) => toast((e as Error).message, 'error'),
    onSettled: () => qc.invalidateQueries({ queryKey: ['schedules'] }),
  });
  const filter = (v: string) => {
    const n = new URLSearchParams(sp);
    if (v) n.set('workflow_id', v);
    else n.delete('workflow_id');
    setSp(n);
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Schedules</h1>
          <p className="muted">Workflows started by a cron expression, in a time zone of your choice, as the user who made the schedule.</p>
        </div>
      </header>
      {edit && wfs.data && <NewSchedule key={workflow_id} workflows={wfs.data} workflowId={workflow_id} />}
      <ErrorBox error={wfs.error} />
      <div className="filters">
        <select aria-label="Filter by workflow" value={workflow_id} onChange={(e) => filter(e.target.value)}>
          <option value="">All workflows</option>
          {wfs.data?.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : q.data?.length === 0 ? (
        <Empty>No schedules {workflow_id ? 'for this workflow' : 'yet'}{edit ? ' — create one with the form above.' : '.'}</Empty>
      ) : (
        q.data && (
          <div className="card table-wrap">
            <table className="table" aria-label="Schedules">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Workflow</th>
                  <th>Cron</th>
                  <th>Overlap</th>
                  <th>Catch-up</th>
                  <th>State</th>
                  <th>Next fire</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.map((s) => (
                  <tr key={s.id} data-testid="schedule-row">
                    <td>
                      <Link to={`/schedules/${s.id}`} className="strong">
                        {s.name}
                      </Link>
                    </td>
                    <td>{names.get(s.workflow_id) ?? <span className="mono">{s.workflow_id.slice(-12)}</span>}</td>
                    <td>
                      <code className="nowrap">{s.cron}</code>
                      <div className="muted small">{s.timezone}</div>
                    </td>
                    <td>{s.overlap}</td>
                    <td>{s.catch_up}</td>
                    <td>
                      <StatusBadge status={s.paused ? 'paused' : 'active'} />
                    </td>
                    <td data-testid="next-fire">
                      {s.next_fires[0] ? (
                        <time dateTime={s.next_fires[0]} title={s.next_fires[0]}>
                          {inZone(s.next_fires[0], s.timezone)}
                        </time>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td className="actions">
                      {edit && (
                        <button className="btn ghost sm" aria-label={`${s.paused ? 'Resume' : 'Pause'} ${s.name}`} disabled={toggle.isPending} onClick={() => toggle.mutate(s)}>
                          {s.paused ? 'Resume' : 'Pause'}
                        </button>
                      )}
                      <Link className="btn ghost sm" to={`/schedules/${s.id}`} aria-label={`Open ${s.name}`}>
                        Open
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </div>
  );
}
