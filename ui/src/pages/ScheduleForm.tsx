// The fields of a schedule, shared by the Schedules page's create form and a schedule's edit
// dialog. The server is the validator: the cron expression and the zone are only checked there,
// and a 400's or 422's `details[].path` puts its message next to the field it names.
import { useMemo, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, ApiError, type CatchUp, type Overlap, type Schedule, type Workflow } from '../lib/api';

/** The workflows (the query Executions uses too), fetched again on every visit: one made a moment ago is in the select. */
export const useWorkflows = () => useQuery({ queryKey: ['workflows-all'], queryFn: () => api<Workflow[]>('workflows?limit=500'), staleTime: 0 });

export interface Draft {
  workflow_id: string;
  name: string;
  cron: string;
  timezone: string;
  overlap: Overlap;
  catch_up: CatchUp;
  /** The parameters as the JSON text being edited. */
  parameters: string;
  paused: boolean;
}

export const OVERLAP: { value: Overlap; label: string }[] = [
  { value: 'skip', label: 'Skip (while one runs)' },
  { value: 'queue', label: 'Queue (after it ends)' },
  { value: 'allow', label: 'Allow (side by side)' },
];
export const CATCH_UP: { value: CatchUp; label: string }[] = [
  { value: 'none', label: 'None (drop missed times)' },
  { value: 'latest', label: 'Latest (the last missed)' },
  { value: 'all', label: 'All (up to 100 missed)' },
];

/** The fields a server's issue may name, each shown next to its input. */
const FIELDS = ['workflow_id', 'name', 'cron', 'timezone', 'overlap', 'catch_up', 'parameters'] as const;
export type FieldName = (typeof FIELDS)[number];
export type FieldErrors = Partial<Record<FieldName, string>>;

export function emptyDraft(workflow_id = ''): Draft {
  return { workflow_id, name: '', cron: '', timezone: 'UTC', overlap: 'skip', catch_up: 'latest', parameters: '{}', paused: false };
}

export function draftOf(s: Schedule): Draft {
  return {
    workflow_id: s.workflow_id,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    overlap: s.overlap,
    catch_up: s.catch_up,
    parameters: JSON.stringify(s.parameters ?? {}, null, 2),
    paused: s.paused,
  };
}

/** The parameters' JSON as an object, or the reason it is not one. */
export function parseParameters(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'Must be a JSON object, e.g. {"region": "eu"}' };
    return { value: v };
  } catch (e) {
    return { error: `Not valid JSON: ${(e as Error).message}` };
  }
}

/**
 * An error split in two: the issues naming a field (shown next to it), and the rest (the error
 * with the issues no field shows, for an ErrorBox), null when nothing is left to say.
 */
export function splitError(error: unknown): { fields: FieldErrors; rest: unknown } {
  if (!(error instanceof ApiError)) return { fields: {}, rest: error ?? null };
  const issues = Array.isArray(error.details) ? (error.details as { path?: string; message?: string }[]) : [];
  const fields: FieldErrors = {};
  const left: typeof issues = [];
  for (const i of issues) {
    const f = FIELDS.find((k) => k === i?.path);
    if (f && i.message) fields[f] = fields[f] ? `${fields[f]}; ${i.message}` : i.message;
    else left.push(i);
  }
  return { fields, rest: new ApiError(error.status, error.message, left) };
}

function zones(): string[] {
  try {
    const all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
    return ['UTC', ...all.filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC', 'Europe/London', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'];
  }
}

export const browserZone = () => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
};

/** One labelled field: its input, a hint, and the server's word on it. */
export function Field({
  id,
  label,
  hint,
  error,
  wide,
  children,
}: {
  id: string;
  label: ReactNode;
  hint?: string;
  error?: string;
  wide?: boolean;
  children: (describedBy: string | undefined, invalid: boolean) => ReactNode;
}) {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${error ? 'invalid' : ''} ${wide ? 'wide' : ''}`} data-testid={`field-${id}`}>
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      {children(described, !!error)}
      {hint && (
        <span id={`${id}-hint`} className="field-help">
          {hint}
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

export function ScheduleFields({
  prefix,
  draft,
  onChange,
  errors,
  workflows,
}: {
  /** The ids' prefix (two forms may be on the page). */
  prefix: string;
  draft: Draft;
  onChange: (d: Draft) => void;
  errors: FieldErrors;
  /** The workflow select's options; none for an existing schedule (its workflow stays). */
  workflows?: Workflow[];
}) {
  const zoneList = useMemo(zones, []);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => onChange({ ...draft, [k]: v });
  const id = (f: string) => `${prefix}-${f}`;
  return (
    <div className="sched-fields">
      {workflows && (
        <Field id={id('workflow')} label="Workflow" error={errors.workflow_id}>
          {(d, bad) => (
            <select id={id('workflow')} required value={draft.workflow_id} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('workflow_id', e.target.value)}>
              <option value="">Choose a workflow…</option>
              {workflows.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field id={id('name')} label="Name" hint="Defaults to the expression." error={errors.name}>
        {(d, bad) => <input id={id('name')} value={draft.name} maxLength={200} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('name', e.target.value)} />}
      </Field>
      <Field
        id={id('cron')}
        label="Cron expression"
        hint="5 fields (minute hour day-of-month month day-of-week) or 6 with the second first, e.g. 0 30 9 * * 1-5."
        error={errors.cron}
      >
        {(d, bad) => (
          <input
            id={id('cron')}
            className="mono"
            required
            spellCheck={false}
            autoComplete="off"
            placeholder="0 9 * * 1-5"
            value={draft.cron}
            aria-describedby={d}
            aria-invalid={bad}
            onChange={(e) => set('cron', e.target.value)}
          />
        )}
      </Field>
      <Field id={id('timezone')} label="Time zone" hint={`An IANA name (yours is ${browserZone()}).`} error={errors.timezone}>
        {(d, bad) => (
          <>
            <input
              id={id('timezone')}
              list={id('zones')}
              required
              spellCheck={false}
              autoComplete="off"
              value={draft.timezone}
              aria-describedby={d}
              aria-invalid={bad}
              onChange={(e) => set('timezone', e.target.value)}
            />
            <datalist id={id('zones')}>
              {zoneList.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field id={id('overlap')} label="Overlap" hint="When a fire is due while its previous run is still going: skip it, start it once that run ends, or run both." error={errors.overlap}>
        {(d, bad) => (
          <select id={id('overlap')} value={draft.overlap} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('overlap', e.target.value as Overlap)}>
            {OVERLAP.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id={id('catchup')} label="Catch-up" hint="Times missed while the server was down: none, only the latest, or all of them." error={errors.catch_up}>
        {(d, bad) => (
          <select id={id('catchup')} value={draft.catch_up} aria-describedby={d} aria-invalid={bad} onChange={(e) => set('catch_up', e.target.value as CatchUp)}>
            {CATCH_UP.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id={id('parameters')} label="Parameters (JSON)" hint="The parameters of every run it starts, as a JSON object." error={errors.parameters} wide>
        {(d, bad) => (
          <textarea
            id={id('parameters')}
            spellCheck={false}
            rows={3}
            value={draft.parameters}
            aria-describedby={d}
            aria-invalid={bad}
            onChange={(e) => set('parameters', e.target.value)}
          />
        )}
      </Field>
    </div>
  );
}
