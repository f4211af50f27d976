// The child executions of a run's sub_workflow and for_each steps, on the execution page: each
// step's progress (ended of total, completed, failed, running) on its node and in its panel, the
// list of its children (item, status, duration, a link to each) a hundred at a time with a status
// filter, so that ten thousand stay fast, and a sub_workflow's link straight to its one child. On
// a child's page: the "child of" link back to its parent's step (and item), and the graph of an
// inline for_each body, which is no workflow's definition but the parent step's config.
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { api, type ChildrenWait, type ComponentRun, type Definition, type Execution, type ParentLink, type Workflow } from '../lib/api';
import { ms } from '../lib/format';
import { ErrorBox, Spinner, StatusBadge } from '../lib/ui';

/** The component types whose steps run child executions. */
export const CHILD_KINDS = new Set(['sub_workflow', 'for_each']);

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Children shown at once in a step's list. */
const PAGE = 100;
const n = (x: number) => x.toLocaleString('en');

/** A step's children: the current round's, one per item in item order, and the counts by status. */
export interface StepChildren {
  rows: Execution[];
  /** Children left out: earlier attempts' (a retried step makes them again) and reruns of a child. */
  earlier: number;
  counts: Record<string, number>;
  ended: number;
  completed: number;
  failed: number;
  running: number;
}

/**
 * GET /executions/{id}/children, polled while the execution goes (less often when there are
 * thousands), fetched once more when it has ended.
 */
export function useChildren(exec: Execution | undefined, enabled: boolean) {
  const done = !!exec && TERMINAL.has(exec.status);
  return useQuery({
    queryKey: ['children', exec?.id, done],
    queryFn: () => api<Execution[]>(`executions/${exec!.id}/children`),
    enabled: !!exec && enabled,
    placeholderData: (prev) => prev,
    refetchInterval: (q) => (done ? false : (q.state.data?.length ?? 0) > 2000 ? 5000 : 2000),
  });
}

/** The children grouped by the step that made them. */
export function groupChildren(children: Execution[] | undefined): Map<string, StepChildren> {
  const byStep = new Map<string, Map<number, Execution>>();
  const seen = new Map<string, number>();
  // In creation order: a later child of the same item is a later attempt's.
  for (const c of children ?? []) {
    if (!c.parent) continue;
    const step = c.parent.component_id;
    seen.set(step, (seen.get(step) ?? 0) + 1);
    if (c.rerun_of) continue;
    let items = byStep.get(step);
    if (!items) byStep.set(step, (items = new Map()));
    items.set(c.parent.item ?? 0, c);
  }
  const out = new Map<string, StepChildren>();
  for (const [step, items] of byStep) {
    const rows = [...items.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
    out.set(step, {
      rows,
      earlier: (seen.get(step) ?? 0) - rows.length,
      counts,
      ended: rows.filter((r) => TERMINAL.has(r.status)).length,
      completed: counts.completed ?? 0,
      failed: (counts.failed ?? 0) + (counts.cancelled ?? 0),
      running: (counts.running ?? 0) + (counts.paused ?? 0),
    });
  }
  return out;
}

function childrenWait(comp?: ComponentRun): ChildrenWait | null {
  return comp?.status === 'running' && comp.waiting?.kind === 'children' ? comp.waiting : null;
}

/** A step's progress: the wait's total while it runs (its children may not all be listed yet), else the children's. */
export function progressOf(comp: ComponentRun | undefined, group: StepChildren | undefined) {
  const w = childrenWait(comp);
  const total = Math.max(w?.spawned ? w.total : 0, group?.rows.length ?? 0);
  return { total, ended: group?.ended ?? 0, completed: group?.completed ?? 0, failed: group?.failed ?? 0, running: group?.running ?? 0 };
}

/** The progress of a step's children as a bar and in words. */
export function ChildrenProgress({ step, comp, group }: { step: string; comp?: ComponentRun; group?: StepChildren }) {
  const p = progressOf(comp, group);
  const w = childrenWait(comp);
  const pct = (n: number) => `${p.total ? (n / p.total) * 100 : 0}%`;
  const waiting = p.total - p.ended - p.running;
  const words = [`${n(p.ended)} of ${n(p.total)} ended`, `${n(p.completed)} completed`, p.failed ? `${n(p.failed)} failed` : '', p.running ? `${n(p.running)} running` : ''].filter(Boolean).join(', ');
  return (
    <div className="children-progress" data-testid={`children-progress-${step}`}>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Children of ${step}`}
        aria-valuemin={0}
        aria-valuemax={p.total}
        aria-valuenow={p.ended}
        aria-valuetext={words}
      >
        <span className="progress-seg st-completed" style={{ width: pct(p.completed) }} />
        <span className="progress-seg st-failed" style={{ width: pct(p.failed) }} />
        <span className="progress-seg st-running" style={{ width: pct(p.running) }} />
      </div>
      <p className="small children-counts">
        <strong data-testid="children-ended">
          {n(p.ended)}/{n(p.total)}
        </strong>{' '}
        ended
        <span className="count st-completed">{n(p.completed)} completed</span>
        {p.failed > 0 && <span className="count st-failed">{n(p.failed)} failed</span>}
        {p.running > 0 && <span className="count st-running">{n(p.running)} running</span>}
        {waiting > 0 && <span className="count">{n(waiting)} waiting to start</span>}
      </p>
      {w && (
        <p className="muted small">
          {w.each ? `${w.concurrency} at a time; ${w.continue_on_failure ? 'a failed item does not stop the others' : 'a failed item fails the step'}` : 'The step ends when its child does.'}
          {w.round > 1 ? ` · attempt ${w.round}` : ''}
          {!w.spawned ? ' · starting the children…' : ''}
        </p>
      )}
    </div>
  );
}

function took(c: Execution) {
  if (c.duration_ms !== null && c.duration_ms !== undefined) return ms(c.duration_ms);
  if (c.started_at && !TERMINAL.has(c.status)) return `${ms(Date.now() - Date.parse(c.started_at))}…`;
  return '—';
}

/** A step's children, a page at a time, filtered by status. */
export function ChildrenList({ step, group, each }: { step: string; group: StepChildren; each: boolean }) {
  const uid = useId();
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(0);
  const rows = useMemo(() => (status ? group.rows.filter((r) => r.status === status) : group.rows), [group.rows, status]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const at = Math.min(page, pages - 1);
  const shown = rows.slice(at * PAGE, at * PAGE + PAGE);
  const statuses = Object.keys(group.counts).sort();
  // A new page starts at its top.
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [at, status]);
  return (
    <div className="children-list" data-testid={`children-${step}`}>
      <div className="row children-filter">
        <label htmlFor={`${uid}-status`} className="small strong">
          Show
        </label>
        <select
          id={`${uid}-status`}
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            setPage(0);
          }}
        >
          <option value="">all ({n(group.rows.length)})</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s} ({n(group.counts[s])})
            </option>
          ))}
        </select>
        {pages > 1 && (
          <nav className="children-pager" aria-label={`Pages of the children of ${step}`}>
            <button className="btn sm" disabled={at === 0} onClick={() => setPage(at - 1)} aria-label="Previous hundred">
              ←
            </button>
            <span className="small muted" data-testid="children-page">
              {n(at * PAGE + 1)}–{n(at * PAGE + shown.length)} of {n(rows.length)}
            </span>
            <button className="btn sm" disabled={at >= pages - 1} onClick={() => setPage(at + 1)} aria-label="Next hundred">
              →
            </button>
          </nav>
        )}
      </div>
      {rows.length === 0 ? (
        <p className="muted small">{status ? `No child is ${status}.` : 'No child execution yet.'}</p>
      ) : (
        <div className="children-scroll" tabIndex={0} ref={scroller}>
          <table className="table compact children-table" aria-label={`Child executions of ${step}`}>
            <thead>
              <tr>
                {each && <th className="num">Item</th>}
                <th>Status</th>
                <th className="num">Took</th>
                <th>Execution</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => [
                <tr key={c.id} data-testid="child-row" data-item={c.parent?.item ?? ''} data-status={c.status} className={c.error_message ? 'has-error' : undefined}>
                  {each && <td className="num">{c.parent?.item ?? '—'}</td>}
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  <td className="num">{took(c)}</td>
                  <td>
                    <Link to={`/executions/${c.id}`} className="mono" aria-label={each ? `${c.id.slice(-8)}, item ${c.parent?.item}` : undefined} title={c.id}>
                      {c.id.slice(-8)}
                    </Link>
                  </td>
                </tr>,
                c.error_message && (
                  <tr key={`${c.id}-error`} className="child-error-row">
                    <td colSpan={each ? 4 : 3}>
                      <span className="child-error small" title={c.error_message}>
                        {c.error_message}
                      </span>
                    </td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
        </div>
      )}
      {group.earlier > 0 && (
        <p className="muted small">
          {group.earlier} more: children of earlier attempts of the step, or reruns of a child, not counted here.
        </p>
      )}
    </div>
  );
}

/** What a sub_workflow or for_each step ran, in its panel: its progress, and its children or its one child. */
export function StepChildrenPanel({ comp, type, group, loading, error }: { comp?: ComponentRun; type: string; group?: StepChildren; loading: boolean; error: unknown }) {
  const step = comp?.component_id ?? '';
  const each = type === 'for_each';
  const w = childrenWait(comp);
  const child = !each ? group?.rows[group.rows.length - 1] : undefined;
  return (
    <div className="children-panel" role="region" aria-label={each ? `Items of ${step}` : `Sub-workflow of ${step}`} data-testid="step-children">
      <h3>{each ? 'Items' : 'Sub-workflow run'}</h3>
      <ErrorBox error={error} title="Could not load the child executions" />
      {!comp ? (
        <p className="muted small">Not started yet.</p>
      ) : each ? (
        <>
          {group ? (
            <>
              <ChildrenProgress step={step} comp={comp} group={group} />
              <ChildrenList step={step} group={group} each />
            </>
          ) : loading ? (
            <Spinner label="Loading the children" />
          ) : (
            <>
              <ChildrenProgress step={step} comp={comp} group={group} />
              <p className="muted small">No child execution{w ? ' yet' : ''}.</p>
            </>
          )}
        </>
      ) : child ? (
        <p className="sub-child">
          <Link to={`/executions/${child.id}`} className="btn sm" data-testid="sub-child-link">
            Open its run {child.id.slice(-8)} →
          </Link>{' '}
          <StatusBadge status={child.status} /> <span className="muted small">{took(child)}</span>
        </p>
      ) : loading ? (
        <Spinner label="Loading the child" />
      ) : (
        <p className="muted small">{w ? 'Starting the sub-workflow…' : 'No child execution.'}</p>
      )}
    </div>
  );
}

/** The run's sub_workflow and for_each steps with their progress, when no node is chosen. */
export function ChildrenOverview({
  steps,
  comps,
  groups,
  loading,
  onShow,
}: {
  steps: { id: string; type: string }[];
  comps: Map<string, ComponentRun>;
  groups: Map<string, StepChildren>;
  loading: boolean;
  onShow: (id: string) => void;
}) {
  return (
    <div className="panel-section children-overview" role="region" aria-label="Child executions" data-testid="children-overview">
      <h2>Child executions</h2>
      {steps.map((s) => {
        const comp = comps.get(s.id);
        const group = groups.get(s.id);
        const child = s.type === 'sub_workflow' ? group?.rows[group.rows.length - 1] : undefined;
        return (
          <div key={s.id} className="children-step">
            <h3>
              <button type="button" className="link-btn" onClick={() => onShow(s.id)} aria-label={`Show step ${s.id}`}>
                {s.id}
              </button>{' '}
              <span className="muted small">{s.type}</span>
            </h3>
            {!comp ? (
              <p className="muted small">Not started yet.</p>
            ) : !group && loading ? (
              <Spinner label="Loading the children" />
            ) : s.type === 'for_each' ? (
              <ChildrenProgress step={s.id} comp={comp} group={group} />
            ) : child ? (
              <p className="sub-child">
                <Link to={`/executions/${child.id}`} className="mono" aria-label={`${child.id.slice(-8)}, the run of ${s.id}`}>
                  {child.id.slice(-8)}
                </Link>{' '}
                <StatusBadge status={child.status} /> <span className="muted small">{took(child)}</span>
              </p>
            ) : (
              <p className="muted small">No child execution yet.</p>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** "child of 1a2b3c4d · step each · item 3", linking to the parent with the step chosen. */
export function ChildOf({ parent }: { parent: ParentLink }) {
  return (
    <Link to={`/executions/${parent.execution_id}?step=${encodeURIComponent(parent.component_id)}`} data-testid="child-of">
      child of {parent.execution_id.slice(-8)} · step {parent.component_id}
      {parent.item !== null && parent.item !== undefined ? ` · item ${parent.item}` : ''}
    </Link>
  );
}

// ---- the definition of a child of an inline body

async function definitionAt(workflowId: string, version: number): Promise<Definition | null> {
  const wf = await api<Workflow>(`workflows/${workflowId}`);
  if (wf.version === version) return wf.definition;
  const versions = await api<{ version: number; definition: Definition }[]>(`workflows/${workflowId}/versions`);
  return versions.find((v) => v.version === version)?.definition ?? null;
}

/** The inline body an execution runs (a for_each step's `components` and `connections`, nested or not), or null. */
async function inlineBody(exec: Execution, depth = 0): Promise<Definition | null> {
  if (!exec.parent || depth > 16) return null;
  const parent = await api<Execution>(`executions/${exec.parent.execution_id}`);
  // An inline body's children are executions of their parent's workflow.
  if (parent.workflow_id !== exec.workflow_id) return null;
  const def = (await inlineBody(parent, depth + 1)) ?? (await definitionAt(parent.workflow_id, parent.workflow_version));
  const step = def?.components.find((c) => c.id === exec.parent!.component_id);
  const cfg = step?.config;
  if (step?.type !== 'for_each' || !cfg || cfg.workflow_id || !Array.isArray(cfg.components)) return null;
  return { components: cfg.components, connections: Array.isArray(cfg.connections) ? cfg.connections : [] };
}

/**
 * For a child execution: the inline body it runs, null when it runs a workflow of its own (or
 * the parent cannot be read: the workflow's definition is drawn then).
 */
export function useInlineBody(exec: Execution | undefined) {
  return useQuery({
    queryKey: ['inline-body', exec?.id],
    queryFn: () => inlineBody(exec!).catch(() => null),
    enabled: !!exec?.parent,
    staleTime: Infinity,
  });
}
