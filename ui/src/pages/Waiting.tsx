// What a running approval or wait_for_event step waits for, shared by the Approvals page and the
// execution page: its badge ("waiting for approval (1/2)", "waiting for signal 'paid' (key 7)"),
// the facts of an approval (who may decide, the deadline, the decisions so far), the decide form
// (fields generated from the approval's `form` schema, a comment, Approve and Reject) and the
// send-signal form. The server is the validator: a 422's `details[].path` ("values.ticket") puts
// its message next to the field it names, and a 403's or 409's reason is shown in its own words.
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, type Approval, type ApprovalWait, type ComponentRun, type Decision, type SignalWait, type User, type Waiting } from '../lib/api';
import { useAuth } from '../lib/auth';
import { ago, until, when } from '../lib/format';
import { ErrorBox, Spinner, useToast } from '../lib/ui';
import { Field } from './ScheduleForm';

// ---- labels

export function waitLabel(w: Waiting, approvals?: number): string {
  if (w.kind === 'approval') return `waiting for approval (${approvals ?? '…'}/${w.required})`;
  if (w.kind === 'children') return w.each ? `running ${w.total} item(s), ${w.concurrency} at a time` : 'running a sub-workflow';
  return `waiting for signal '${w.name}'${w.key !== null && w.key !== undefined && w.key !== '' ? ` (key ${w.key})` : ''}`;
}

export function WaitBadge({ waiting, approvals }: { waiting: Waiting; approvals?: number }) {
  return (
    <span className="badge st-waiting wait-badge" data-testid="wait-badge">
      {waitLabel(waiting, approvals)}
    </span>
  );
}

const ROLE_PLURAL: Record<string, string> = { admin: 'admins', editor: 'editors', operator: 'operators', viewer: 'viewers' };

/** Who may decide, in words. */
export function approvers(users: string[], roles: string[]) {
  const parts = [...users, ...roles.map((r) => `any of the ${ROLE_PLURAL[r] ?? r}`)];
  return parts.length ? parts.join(', ') : 'anyone who may run the workflow';
}

const TIMEOUT: Record<string, string> = { approve: 'then it is approved', reject: 'then it is rejected', fail: 'then the step fails' };

/** Why the caller may not decide (an approval whose `can_decide` is false). */
export function whyNot(a: Approval, me: User | null) {
  const mine = a.decisions.find((d) => d.user_id === me?.id);
  if (mine) return `You have ${mine.decision === 'approve' ? 'approved' : 'rejected'} it; it waits for others.`;
  if (me && a.requested_by === me.id && !a.allow_self_approval) return 'You started this run, and this approval does not allow self-approval: someone else must decide.';
  return 'You are not among its approvers.';
}

function DecisionList({ decisions }: { decisions: Decision[] }) {
  if (!decisions.length) return <span className="muted">none yet</span>;
  return (
    <ul className="decisions" aria-label="Decisions so far">
      {decisions.map((d) => (
        <li key={`${d.user_id}-${d.decided_at}`}>
          <strong>{d.username}</strong> <span className={`badge st-${d.decision}`}>{d.decision === 'approve' ? 'approved' : 'rejected'}</span>{' '}
          <time className="muted small" dateTime={d.decided_at} title={d.decided_at}>
            {ago(d.decided_at)}
          </time>
          {d.comment && <q className="decision-comment">{d.comment}</q>}
          {d.values && Object.keys(d.values).length > 0 && <code className="decision-values">{JSON.stringify(d.values)}</code>}
        </li>
      ))}
    </ul>
  );
}

/** An approval's facts as a description list: progress, approvers, deadline, decisions. */
export function ApprovalFacts({ a, execution }: { a: Approval; execution?: boolean }) {
  return (
    <dl className="kv approval-facts">
      {execution && (
        <>
          <dt>Execution</dt>
          <dd>
            <Link to={`/executions/${a.execution_id}`} className="mono" aria-label={`Execution ${a.execution_id.slice(-12)}`}>
              {a.execution_id.slice(-12)}
            </Link>{' '}
            <span className="muted small">
              step <code>{a.component_id}</code>
            </span>
          </dd>
        </>
      )}
      <dt>Approvals</dt>
      <dd data-testid="approval-progress">
        {a.approvals} of {a.required}
        {a.round > 1 && <span className="muted small"> (round {a.round})</span>}
      </dd>
      <dt>May decide</dt>
      <dd>{approvers(a.users, a.roles)}</dd>
      <dt>Deadline</dt>
      <dd>
        {a.deadline ? (
          <>
            <time dateTime={a.deadline} title={a.deadline}>
              {when(a.deadline)}
            </time>{' '}
            <span className="muted small">
              ({until(a.deadline)}; {TIMEOUT[a.on_timeout] ?? a.on_timeout})
            </span>
          </>
        ) : (
          <span className="muted">none</span>
        )}
      </dd>
      <dt>Waiting since</dt>
      <dd>
        <time dateTime={a.waiting_since} title={a.waiting_since}>
          {ago(a.waiting_since)}
        </time>
      </dd>
      <dt>Decisions</dt>
      <dd>
        <DecisionList decisions={a.decisions} />
      </dd>
    </dl>
  );
}

// ---- the form's fields, generated from its JSON schema

type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'json';
interface Prop {
  key: string;
  kind: Kind;
  label: string;
  help?: string;
  required: boolean;
  options?: unknown[];
}

function kindOf(s: any): Kind {
  if (Array.isArray(s?.enum)) return 'enum';
  const t = Array.isArray(s?.type) ? s.type.find((x: string) => x !== 'null') : s?.type;
  if (t === 'string' || t === 'integer' || t === 'number' || t === 'boolean') return t;
  return 'json';
}

/** The properties of an object schema, required ones first. */
export function propsOf(schema: any): Prop[] {
  const props: Record<string, any> = schema && typeof schema === 'object' && schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
  const required = new Set<string>(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(props)
    .map(([key, s]) => ({
      key,
      kind: kindOf(s),
      label: typeof s?.title === 'string' && s.title ? s.title : key,
      help: typeof s?.description === 'string' ? s.description : undefined,
      required: required.has(key),
      options: Array.isArray(s?.enum) ? s.enum : undefined,
    }))
    .sort((a, b) => Number(b.required) - Number(a.required));
}

type Draft = Record<string, string | boolean>;

function draftOf(schema: any): Draft {
  const d: Draft = {};
  const props: Record<string, any> = schema?.properties ?? {};
  for (const p of propsOf(schema)) {
    const def = props[p.key]?.default;
    if (p.kind === 'boolean') d[p.key] = def === true;
    else if (p.kind === 'enum') d[p.key] = def !== undefined && p.options ? String(p.options.findIndex((o) => JSON.stringify(o) === JSON.stringify(def))) : '';
    else if (p.kind === 'json') d[p.key] = def === undefined ? '' : JSON.stringify(def);
    else d[p.key] = def === undefined || def === null ? '' : String(def);
  }
  for (const k of Object.keys(d)) if (d[k] === '-1') d[k] = '';
  return d;
}

/** The values of a draft, and the fields whose text is not what their type needs. */
function valuesOf(props: Prop[], d: Draft): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const p of props) {
    const v = d[p.key];
    if (p.kind === 'boolean') {
      values[p.key] = v === true;
      continue;
    }
    const t = typeof v === 'string' ? v.trim() : '';
    if (!t) continue;
    if (p.kind === 'enum') values[p.key] = p.options?.[Number(t)];
    else if (p.kind === 'string') values[p.key] = v;
    else if (p.kind === 'integer') {
      if (/^-?\d+$/.test(t)) values[p.key] = Number(t);
      else errors[p.key] = 'Must be a whole number';
    } else if (p.kind === 'number') {
      const n = Number(t);
      if (Number.isFinite(n)) values[p.key] = n;
      else errors[p.key] = 'Must be a number';
    } else {
      try {
        values[p.key] = JSON.parse(t);
      } catch (e) {
        errors[p.key] = `Not valid JSON: ${(e as Error).message}`;
      }
    }
  }
  return { values, errors };
}

function ValueField({ id, p, value, error, disabled, onChange }: { id: string; p: Prop; value: string | boolean; error?: string; disabled?: boolean; onChange: (v: string | boolean) => void }) {
  if (p.kind === 'boolean') {
    const described = [p.help ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
    return (
      <div className={`field value-check ${error ? 'invalid' : ''}`} data-testid={`value-${p.key}`}>
        <label className="inline">
          <input id={id} type="checkbox" checked={value === true} disabled={disabled} aria-describedby={described} aria-invalid={!!error} onChange={(e) => onChange(e.target.checked)} />
          {p.label}
          {p.required && (
            <span className="req" aria-hidden="true">
              *
            </span>
          )}
        </label>
        {p.help && (
          <span id={`${id}-hint`} className="field-help">
            {p.help}
          </span>
        )}
        {error && (
          <span id={`${id}-error`} className="field-error" role="alert">
            {error}
          </span>
        )}
      </div>
    );
  }
  const text = typeof value === 'string' ? value : '';
  return (
    <Field
      id={id}
      label={
        <>
          {p.label}
          {p.required && (
            <span className="req" aria-hidden="true">
              *
            </span>
          )}
        </>
      }
      hint={p.help ?? (p.kind === 'json' ? 'A JSON value.' : undefined)} error={error}>
      {(d, bad) =>
        p.kind === 'enum' ? (
          <select id={id} value={text} disabled={disabled} aria-required={p.required} aria-describedby={d} aria-invalid={bad} onChange={(e) => onChange(e.target.value)}>
            <option value="">Choose…</option>
            {p.options!.map((o, i) => (
              <option key={i} value={String(i)}>
                {typeof o === 'string' ? o : JSON.stringify(o)}
              </option>
            ))}
          </select>
        ) : p.kind === 'json' ? (
          <textarea id={id} className="mono" rows={3} spellCheck={false} value={text} disabled={disabled} aria-required={p.required} aria-describedby={d} aria-invalid={bad} onChange={(e) => onChange(e.target.value)} />
        ) : (
          <input
            id={id}
            value={text}
            disabled={disabled}
            inputMode={p.kind === 'integer' ? 'numeric' : p.kind === 'number' ? 'decimal' : undefined}
            className={p.kind === 'string' ? undefined : 'mono'}
            autoComplete="off"
            aria-required={p.required}
            aria-describedby={d}
            aria-invalid={bad}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

/** The issues naming a form field ("values.ticket"), and the error with the rest, a refusal in the server's words. */
function splitError(error: unknown, keys: string[]): { fields: Record<string, string>; rest: unknown } {
  if (!(error instanceof ApiError)) return { fields: {}, rest: error ?? null };
  const issues = Array.isArray(error.details) ? (error.details as { path?: string; message?: string }[]) : [];
  const fields: Record<string, string> = {};
  const left: typeof issues = [];
  for (const i of issues) {
    const m = /^values\.([^.[]+)/.exec(i?.path ?? '');
    const k = m && keys.includes(m[1]) ? m[1] : null;
    if (k && i.message) fields[k] = fields[k] ? `${fields[k]}; ${i.message}` : i.message;
    else left.push(i);
  }
  // A 403 or 409 says why in `error` ("you started this execution, and …"): more than the generic message.
  const msg = !issues.length && error.reason && (error.status === 403 || error.status === 409) ? error.reason : error.message;
  return { fields, rest: new ApiError(error.status, msg, left, error.reason) };
}

/** The decide form of a waiting approval the caller may decide: its fields, a comment, Approve and Reject. */
export function DecideForm({ a, onDecided }: { a: Approval; onDecided?: (d: Decision) => void }) {
  const qc = useQueryClient();
  const toast = useToast();
  const uid = useId();
  const props = propsOf(a.form);
  const [draft, setDraft] = useState<Draft>(() => draftOf(a.form));
  const [comment, setComment] = useState('');
  const [local, setLocal] = useState<Record<string, string>>({});
  const refresh = () => {
    qc.invalidateQueries({ queryKey: ['approvals'] });
    qc.invalidateQueries({ queryKey: ['approval', a.execution_id] });
    qc.invalidateQueries({ queryKey: ['execution', a.execution_id] });
  };
  const decide = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Decision>(`executions/${a.execution_id}/approvals/${encodeURIComponent(a.component_id)}`, { body }),
    onSuccess: (d) => {
      toast(`${d.decision === 'approve' ? 'Approved' : 'Rejected'} “${a.component_id}”`);
      refresh();
      onDecided?.(d);
    },
    onError: (e) => {
      // No longer waiting, or already decided: the lists are stale.
      if (e instanceof ApiError && e.status === 409) refresh();
    },
  });
  const send = (decision: 'approve' | 'reject') => {
    const { values, errors } = valuesOf(props, draft);
    // A rejection's values are not checked: what is filled in is sent along, what is not is left out.
    if (decision === 'approve' && Object.keys(errors).length) {
      decide.reset();
      setLocal(errors);
      return;
    }
    if (decision === 'reject') for (const k of Object.keys(errors)) delete values[k];
    setLocal({});
    const c = comment.trim();
    decide.mutate({ decision, ...(c ? { comment: c } : {}), ...(props.length ? { values } : {}) });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send('approve');
  };
  const { fields, rest } = splitError(decide.error, props.map((p) => p.key));
  const errors = { ...fields, ...local };
  const title = decide.error instanceof ApiError && decide.error.status === 409 ? 'No longer waiting' : 'Could not record your decision';
  return (
    <form className="decide-form" onSubmit={submit} noValidate aria-label={`Decide on ${a.component_id}`} data-testid="decide-form">
      {props.length > 0 && (
        <div className="sched-fields">
          {props.map((p) => (
            <ValueField
              key={p.key}
              id={`${uid}-v-${p.key}`}
              p={p}
              value={draft[p.key] ?? ''}
              error={errors[p.key]}
              disabled={decide.isPending}
              onChange={(v) => setDraft((d) => ({ ...d, [p.key]: v }))}
            />
          ))}
        </div>
      )}
      <Field id={`${uid}-comment`} label="Comment" hint="Optional; kept with your decision." wide>
        {(d) => <textarea id={`${uid}-comment`} className="plain" rows={2} value={comment} maxLength={2000} aria-describedby={d} disabled={decide.isPending} onChange={(e) => setComment(e.target.value)} />}
      </Field>
      <ErrorBox error={rest} title={title} />
      <div className="row form-actions end">
        <button type="button" className="btn danger" disabled={decide.isPending} onClick={() => send('reject')}>
          Reject
        </button>
        <button type="submit" className="btn primary" disabled={decide.isPending}>
          {decide.isPending ? 'Sending…' : 'Approve'}
        </button>
      </div>
    </form>
  );
}

// ---- on the execution page

/** The approval of a waiting step (its decisions so far; 403 for who may not run the workflow). */
export function useApproval(executionId: string, componentId: string, enabled = true) {
  return useQuery({
    queryKey: ['approval', executionId, componentId],
    queryFn: () => api<Approval>(`executions/${executionId}/approvals/${encodeURIComponent(componentId)}`),
    enabled,
    retry: false,
    refetchInterval: 5000,
  });
}

function ApprovalWaitItem({ executionId, comp, wait }: { executionId: string; comp: ComponentRun; wait: ApprovalWait }) {
  const { user } = useAuth();
  const q = useApproval(executionId, comp.component_id);
  const a = q.data;
  return (
    <>
      <p className="wait-head">
        <WaitBadge waiting={wait} approvals={a?.approvals} />
      </p>
      {(a?.message ?? wait.message) && <p className="approval-message">{a?.message ?? wait.message}</p>}
      {a ? (
        <>
          <ApprovalFacts a={a} />
          {a.can_decide ? <DecideForm key={`${a.execution_id}-${a.component_id}-${a.round}`} a={a} /> : <p className="muted small" data-testid="cannot-decide">{whyNot(a, user)}</p>}
        </>
      ) : q.isLoading ? (
        <Spinner label="Loading the approval" />
      ) : (
        <dl className="kv approval-facts">
          <dt>May decide</dt>
          <dd>{approvers(wait.users, wait.roles)}</dd>
          <dt>Deadline</dt>
          <dd>{wait.deadline ? `${when(wait.deadline)} (${until(wait.deadline)})` : <span className="muted">none</span>}</dd>
        </dl>
      )}
    </>
  );
}

/** The send-signal form of a step waiting for a signal: the key (prefilled with the one it waits for) and a JSON payload. */
export function SignalForm({ executionId, wait }: { executionId: string; wait: SignalWait }) {
  const qc = useQueryClient();
  const toast = useToast();
  const uid = useId();
  const [key, setKey] = useState(wait.key ?? '');
  const [payload, setPayload] = useState('');
  const [bad, setBad] = useState<string | null>(null);
  const send = useMutation({
    mutationFn: (body: Record<string, unknown>) => api(`executions/${executionId}/signals/${encodeURIComponent(wait.name)}`, { body }),
    onSuccess: () => {
      toast(`Signal '${wait.name}' sent`);
      setPayload('');
      qc.invalidateQueries({ queryKey: ['execution', executionId] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let value: unknown;
    if (payload.trim()) {
      try {
        value = JSON.parse(payload);
      } catch (err) {
        send.reset();
        setBad(`Not valid JSON: ${(err as Error).message}`);
        return;
      }
    }
    setBad(null);
    const k = key.trim();
    send.mutate({ ...(k ? { key: k } : {}), ...(value !== undefined ? { payload: value } : {}) });
  };
  const issues = send.error instanceof ApiError && Array.isArray(send.error.details) ? (send.error.details as { path?: string; message?: string }[]) : [];
  const keyIssue = issues.find((i) => i.path === 'key')?.message;
  const payloadIssue = bad ?? issues.find((i) => i.path?.startsWith('payload'))?.message;
  const rest =
    send.error instanceof ApiError && !keyIssue && !payloadIssue
      ? new ApiError(send.error.status, !issues.length && send.error.reason && send.error.status < 500 ? send.error.reason : send.error.message, issues)
      : null;
  return (
    <form className="signal-form" onSubmit={submit} noValidate aria-label={`Send signal ${wait.name}`} data-testid="signal-form">
      <Field
        id={`${uid}-key`}
        label="Key"
        hint={wait.key ? `Only a signal with the key ${wait.key} ends this wait.` : 'This step takes a signal with any key.'}
        error={keyIssue}
      >
        {(d, invalid) => <input id={`${uid}-key`} className="mono" autoComplete="off" spellCheck={false} value={key} aria-describedby={d} aria-invalid={invalid} onChange={(e) => setKey(e.target.value)} />}
      </Field>
      <Field id={`${uid}-payload`} label="Payload (JSON)" hint="Any JSON value; it becomes the step's output. Leave it empty for null." error={payloadIssue}>
        {(d, invalid) => (
          <textarea
            id={`${uid}-payload`}
            rows={3}
            spellCheck={false}
            placeholder='{"amount": 42}'
            value={payload}
            aria-describedby={d}
            aria-invalid={invalid}
            onChange={(e) => {
              setPayload(e.target.value);
              setBad(null);
            }}
          />
        )}
      </Field>
      <ErrorBox error={rest} title="Could not send the signal" />
      <div className="row form-actions end">
        <button type="submit" className="btn primary" disabled={send.isPending}>
          {send.isPending ? 'Sending…' : 'Send signal'}
        </button>
      </div>
    </form>
  );
}

/** What a waiting step of an execution waits for, and the form to end the wait when the caller may. */
export function WaitItem({ executionId, comp, operate }: { executionId: string; comp: ComponentRun; operate: boolean }) {
  const w = comp.waiting;
  // A step waiting for its child executions is shown by ./Children.tsx.
  if (!w || w.kind === 'children') return null;
  return (
    <div className="wait-item" data-testid={`wait-${comp.component_id}`}>
      {w.kind === 'approval' ? (
        <ApprovalWaitItem executionId={executionId} comp={comp} wait={w} />
      ) : (
        <>
          <p className="wait-head">
            <WaitBadge waiting={w} />
          </p>
          {w.deadline && (
            <p className="muted small">
              Until {when(w.deadline)} ({until(w.deadline)}), then {w.on_timeout_continue ? 'it continues with null' : 'the step fails'}.
            </p>
          )}
          {operate && <SignalForm executionId={executionId} wait={w} />}
        </>
      )}
    </div>
  );
}
