// The webhooks of a workflow (/workflows/:id/webhooks): the hooks that start it from an outside
// HTTP POST, a form to create one, and rotating or deleting a hook's token (after a
// confirmation). A hook's URL carries its token, shown once: in the answer of a create or a
// rotate, never again. The server is the validator: a 400's `details[].path` puts its message
// next to the field it names. Managing hooks needs update and execute on the workflow; anyone
// who may read it sees the list.
import { useCallback, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, type Hook, type HookIssued, type Respond, type Workflow } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { ago } from '../lib/format';
import { Empty, ErrorBox, Modal, Spinner, useToast } from '../lib/ui';
import { Field } from './ScheduleForm';

interface Draft {
  name: string;
  respond: Respond;
  timeout: string;
  max_body: string;
  rate: string;
  /** Comma-separated header names. */
  headers: string;
  signed: boolean;
  secret: string;
  sig_header: string;
  algorithm: 'sha256' | 'sha512';
}
const EMPTY: Draft = { name: '', respond: 'immediately', timeout: '', max_body: '', rate: '', headers: '', signed: false, secret: '', sig_header: '', algorithm: 'sha256' };

type FieldName = 'name' | 'respond' | 'timeout' | 'max_body' | 'rate' | 'headers' | 'secret' | 'sig_header' | 'algorithm';
type FieldErrors = Partial<Record<FieldName, string>>;
/** The server's paths, and the field showing each. */
const PATHS: Record<string, FieldName> = {
  name: 'name',
  respond: 'respond',
  timeout_seconds: 'timeout',
  max_body_bytes: 'max_body',
  rate_per_minute: 'rate',
  headers: 'headers',
  signature: 'secret',
  'signature.secret': 'secret',
  'signature.header': 'sig_header',
  'signature.algorithm': 'algorithm',
};
const fieldOf = (path?: string): FieldName | undefined => {
  if (!path) return undefined;
  return PATHS[path] ?? PATHS[path.replace(/\[\d+\]$/, '')];
};

/** The issues naming a field, and the error with the rest (null when nothing is left). */
function splitError(error: unknown): { fields: FieldErrors; rest: unknown } {
  if (!(error instanceof ApiError)) return { fields: {}, rest: error ?? null };
  const issues = Array.isArray(error.details) ? (error.details as { path?: string; message?: string }[]) : [];
  const fields: FieldErrors = {};
  const left: typeof issues = [];
  for (const i of issues) {
    const f = fieldOf(i?.path);
    if (f && i.message) fields[f] = fields[f] ? `${fields[f]}; ${i.message}` : i.message;
    else left.push(i);
  }
  return { fields, rest: new ApiError(error.status, error.message, left, error.reason) };
}

/** The body of a create, or the fields whose text is not a whole number. */
function bodyOf(d: Draft): { body?: Record<string, unknown>; errors?: FieldErrors } {
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = {};
  const name = d.name.trim();
  if (name) body.name = name;
  body.respond = d.respond;
  for (const [field, key] of [
    ['timeout', 'timeout_seconds'],
    ['max_body', 'max_body_bytes'],
    ['rate', 'rate_per_minute'],
  ] as const) {
    const t = d[field].trim();
    if (!t) continue;
    if (!/^\d+$/.test(t)) errors[field] = 'Must be a whole number';
    else body[key] = Number(t);
  }
  const headers = d.headers
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (headers.length) body.headers = headers;
  if (d.signed) {
    body.signature = { secret: d.secret, algorithm: d.algorithm, ...(d.sig_header.trim() ? { header: d.sig_header.trim() } : {}) };
  }
  return Object.keys(errors).length ? { errors } : { body };
}

function bytes(n: number) {
  if (n >= 1048576 && n % 1048576 === 0) return `${n / 1048576} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n.toLocaleString('en-GB')} B`;
}

function NewHook({ workflowId, onIssued }: { workflowId: string; onIssued: (h: HookIssued) => void }) {
  const qc = useQueryClient();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [local, setLocal] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<HookIssued>(`workflows/${workflowId}/hooks`, { body }),
    onSuccess: (h) => {
      setDraft(EMPTY);
      qc.invalidateQueries({ queryKey: ['hooks', workflowId] });
      onIssued(h);
    },
  });
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft({ ...draft, [k]: v });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { body, errors } = bodyOf(draft);
    if (!body) {
      create.reset();
      setLocal(errors ?? {});
      return;
    }
    setLocal({});
    create.mutate(body);
  };
  const { fields, rest } = splitError(create.error);
  const errors = { ...fields, ...local };
  return (
    <form className="card sched-form" onSubmit={submit} noValidate aria-labelledby="new-hook-title">
      <h2 id="new-hook-title">New webhook</h2>
      <p className="muted small">Leave a field empty for its default. The URL it gets is shown once, when it is created.</p>
      <div className="sched-fields">
        <Field id="hook-name" label="Name" hint="Defaults to “webhook”." error={errors.name}>
          {(d, bad) => <input id="hook-name" value={draft.name} maxLength={200} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('name', e.target.value)} />}
        </Field>
        <Field id="hook-respond" label="Respond" hint="At once (202 with the execution id), or with the run's status and results when it ends." error={errors.respond}>
          {(d, bad) => (
            <select id="hook-respond" value={draft.respond} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('respond', e.target.value as Respond)}>
              <option value="immediately">Immediately</option>
              <option value="on_completion">On completion</option>
            </select>
          )}
        </Field>
        <Field id="hook-timeout" label="Timeout (seconds)" hint="How long a caller waits for the run on completion: 1–300, default 30." error={errors.timeout}>
          {(d, bad) => (
            <input id="hook-timeout" type="number" inputMode="numeric" placeholder="30" value={draft.timeout} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('timeout', e.target.value)} />
          )}
        </Field>
        <Field id="hook-max-body" label="Max body (bytes)" hint="1 – 10485760 (10 MiB), default 1048576 (1 MiB); a larger body gets 413." error={errors.max_body}>
          {(d, bad) => (
            <input id="hook-max-body" type="number" inputMode="numeric" placeholder="1048576" value={draft.max_body} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('max_body', e.target.value)} />
          )}
        </Field>
        <Field id="hook-rate" label="Rate (requests a minute)" hint="1–100000 per server node, default 60; more gets 429." error={errors.rate}>
          {(d, bad) => (
            <input id="hook-rate" type="number" inputMode="numeric" placeholder="60" value={draft.rate} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('rate', e.target.value)} />
          )}
        </Field>
        <Field id="hook-headers" label="Headers passed to the run" hint="Comma-separated names, e.g. X-Event, X-Delivery (at most 20; not Authorization or Cookie)." error={errors.headers}>
          {(d, bad) => (
            <input
              id="hook-headers"
              className="mono"
              spellCheck={false}
              autoComplete="off"
              placeholder="X-Event, X-Delivery"
              value={draft.headers}
              aria-describedby={d}
              aria-invalid={bad}
              onChange={(e) => set('headers', e.target.value)}
            />
          )}
        </Field>
      </div>
      <fieldset className={`hook-signature ${draft.signed ? 'open' : ''}`}>
        <legend>
          <label className="inline">
            <input type="checkbox" checked={draft.signed} onChange={(e) => set('signed', e.target.checked)} /> Require a signature (HMAC of the body, GitHub's scheme)
          </label>
        </legend>
        {draft.signed && (
          <div className="sched-fields">
            <Field id="hook-secret" label="Secret" hint="8–1024 characters, shared with the sender; never shown again." error={errors.secret}>
              {(d, bad) => (
                <input
                  id="hook-secret"
                  type="password"
                  autoComplete="new-password"
                  value={draft.secret}
                  aria-describedby={d}
                  aria-invalid={bad}
                  onChange={(e) => set('secret', e.target.value)}
                />
              )}
            </Field>
            <Field id="hook-sig-header" label="Signature header" hint="Default X-Hub-Signature-256." error={errors.sig_header}>
              {(d, bad) => (
                <input
                  id="hook-sig-header"
                  className="mono"
                  spellCheck={false}
                  autoComplete="off"
                  placeholder="X-Hub-Signature-256"
                  value={draft.sig_header}
                  aria-describedby={d}
                  aria-invalid={bad}
                  onChange={(e) => set('sig_header', e.target.value)}
                />
              )}
            </Field>
            <Field id="hook-algorithm" label="Algorithm" error={errors.algorithm}>
              {(d, bad) => (
                <select id="hook-algorithm" value={draft.algorithm} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('algorithm', e.target.value as Draft['algorithm'])}>
                  <option value="sha256">HMAC-SHA-256</option>
                  <option value="sha512">HMAC-SHA-512</option>
                </select>
              )}
            </Field>
          </div>
        )}
      </fieldset>
      <ErrorBox error={rest} title="Could not create the webhook" />
      <div className="row form-actions end">
        <button className="btn primary" type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create webhook'}
        </button>
      </div>
    </form>
  );
}

/** The URL of a hook just issued, shown this once, with copy buttons. */
function Issued({ hook, rotated, onClose }: { hook: HookIssued; rotated: boolean; onClose: () => void }) {
  const toast = useToast();
  const url = `${window.location.origin}${hook.path}`;
  const copy = async (text: string, what: string, input: string) => {
    try {
      await navigator.clipboard.writeText(text);
      toast(`${what} copied`);
    } catch {
      const el = document.getElementById(input) as HTMLInputElement | null;
      el?.focus();
      el?.select();
      toast('Could not copy: it is selected, press Ctrl+C', 'info');
    }
  };
  return (
    <Modal title={rotated ? `New URL of “${hook.name}”` : `Webhook “${hook.name}” created`} onClose={onClose} wide>
      <p className="hook-once" role="note">
        <strong>Copy the URL now: it will not be shown again.</strong> {rotated ? 'The old URL no longer works. ' : ''}Anyone with it can start the
        workflow, so keep it like a password.
      </p>
      <div className="field">
        <label htmlFor="issued-url" className="field-label">
          Webhook URL
        </label>
        <div className="copy-row">
          <input id="issued-url" readOnly className="mono" value={url} data-testid="hook-url" onFocus={(e) => e.target.select()} />
          <button className="btn" type="button" onClick={() => copy(url, 'URL', 'issued-url')}>
            Copy URL
          </button>
        </div>
        <span className="field-help">
          Send a POST with a JSON body: its fields become the run's parameters, e.g. <code>curl -X POST -H 'content-type: application/json' -d '{'{}'}' …</code>
        </span>
      </div>
      <div className="field">
        <label htmlFor="issued-token" className="field-label">
          Token
        </label>
        <div className="copy-row">
          <input id="issued-token" readOnly className="mono" value={hook.token} data-testid="hook-token" onFocus={(e) => e.target.select()} />
          <button className="btn" type="button" onClick={() => copy(hook.token, 'Token', 'issued-token')}>
            Copy token
          </button>
        </div>
      </div>
      <footer className="modal-foot">
        <button className="btn primary" onClick={onClose}>
          Done
        </button>
      </footer>
    </Modal>
  );
}

export default function Webhooks() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const toast = useToast();
  const { user } = useAuth();
  // Managing needs update and execute on the workflow: a viewer or an operator only reads.
  const manage = can(user, 'edit') && can(user, 'run');
  const [issued, setIssued] = useState<{ hook: HookIssued; rotated: boolean } | null>(null);
  const [confirm, setConfirm] = useState<{ hook: Hook; action: 'rotate' | 'delete' } | null>(null);
  const closeIssued = useCallback(() => setIssued(null), []);
  const closeConfirm = useCallback(() => setConfirm(null), []);
  // The key and shape the designer and the execution view use.
  const wf = useQuery({ queryKey: ['workflow', id], queryFn: () => api<Workflow>(`workflows/${id}`) });
  const q = useQuery({ queryKey: ['hooks', id], queryFn: () => api<Hook[]>(`workflows/${id}/hooks`), enabled: !wf.error });
  const rotate = useMutation({
    mutationFn: (h: Hook) => api<HookIssued>(`workflows/${id}/hooks/${h.id}/rotate`, { method: 'POST' }),
    onSuccess: (h) => {
      setConfirm(null);
      qc.invalidateQueries({ queryKey: ['hooks', id] });
      setIssued({ hook: h, rotated: true });
    },
  });
  const del = useMutation({
    mutationFn: (h: Hook) => api(`workflows/${id}/hooks/${h.id}`, { method: 'DELETE' }),
    onSuccess: (_, h) => {
      setConfirm(null);
      toast(`Deleted “${h.name}”`);
      qc.invalidateQueries({ queryKey: ['hooks', id] });
    },
  });
  const ask = (hook: Hook, action: 'rotate' | 'delete') => {
    rotate.reset();
    del.reset();
    setConfirm({ hook, action });
  };
  if (wf.isLoading) return <Spinner />;
  const name = wf.data?.name;
  return (
    <div className="page">
      <p className="crumbs">
        <Link to="/workflows">← Workflows</Link>
      </p>
      <header className="page-head">
        <div>
          <h1>Webhooks</h1>
          {wf.data && (
            <p className="muted in-text">
              Start <Link to={`/workflows/${id}/design`}>{name}</Link> from another system with an HTTP POST to a hook's URL, as the user who made the hook.
            </p>
          )}
        </div>
      </header>
      <ErrorBox error={wf.error} />
      {manage && wf.data && <NewHook workflowId={id} onIssued={(hook) => setIssued({ hook, rotated: false })} />}
      {!wf.error && <ErrorBox error={q.error} />}
      {q.isLoading ? (
        <Spinner />
      ) : q.data?.length === 0 ? (
        <Empty>No webhooks on this workflow{manage ? ' — create one with the form above.' : '.'}</Empty>
      ) : (
        q.data && (
          <div className="card table-wrap">
            <table className="table" aria-label="Webhooks">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Token</th>
                  <th>Respond</th>
                  <th>Rate</th>
                  <th>Max body</th>
                  <th>Signature</th>
                  <th>Headers</th>
                  <th>Created</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.map((h) => (
                  <tr key={h.id} data-testid="hook-row">
                    <td className="strong">{h.name}</td>
                    <td>
                      <code className="nowrap" title="The token's first characters">
                        {h.token_prefix}…
                      </code>
                    </td>
                    <td>
                      {h.respond === 'on_completion' ? (
                        <>
                          on completion <span className="muted small nowrap">(waits ≤ {h.timeout_seconds} s)</span>
                        </>
                      ) : (
                        'immediately'
                      )}
                    </td>
                    <td className="nowrap">{h.rate_per_minute.toLocaleString('en-GB')}/min</td>
                    <td className="nowrap">{bytes(h.max_body_bytes)}</td>
                    <td>{h.signature_header ? <code>{h.signature_header}</code> : <span className="muted">none</span>}</td>
                    <td>
                      {h.headers.length ? (
                        h.headers.map((x) => (
                          <code key={x} className="hook-header">
                            {x}
                          </code>
                        ))
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      <time dateTime={h.created_at} title={h.created_at}>
                        {ago(h.created_at)}
                      </time>
                    </td>
                    <td className="actions">
                      {manage && (
                        <>
                          <button className="btn ghost sm" aria-label={`Rotate token of ${h.name}`} onClick={() => ask(h, 'rotate')}>
                            Rotate token
                          </button>
                          <button className="btn ghost sm danger" aria-label={`Delete ${h.name}`} onClick={() => ask(h, 'delete')}>
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
        )
      )}
      {confirm && (
        <Modal title={confirm.action === 'rotate' ? `Rotate the token of “${confirm.hook.name}”?` : `Delete “${confirm.hook.name}”?`} onClose={closeConfirm}>
          <p>
            {confirm.action === 'rotate'
              ? 'It gets a new URL, shown once. The current URL stops working at once: every sender must be given the new one.'
              : 'Its URL stops working at once. The runs it started stay. This cannot be undone.'}
          </p>
          <ErrorBox error={confirm.action === 'rotate' ? rotate.error : del.error} />
          <footer className="modal-foot">
            <button className="btn" onClick={closeConfirm}>
              Cancel
            </button>
            {confirm.action === 'rotate' ? (
              <button className="btn primary" disabled={rotate.isPending} onClick={() => rotate.mutate(confirm.hook)}>
                Rotate token
              </button>
            ) : (
              <button className="btn danger-solid" disabled={del.isPending} onClick={() => del.mutate(confirm.hook)}>
                Delete webhook
              </button>
            )}
          </footer>
        </Modal>
      )}
      {issued && <Issued hook={issued.hook} rotated={issued.rotated} onClose={closeIssued} />}
    </div>
  );
}
