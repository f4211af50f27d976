// The live execution view and the visual debugger: the workflow's graph coloured by status as
// events arrive over /ws, a node's input, output, attempts and logs, a Gantt timeline, and
// cancel / retry / resume / step behind buttons, and rerunning an ended run from a component.
// A step that waits (an approval, a wait_for_event) is drawn as waiting, and says what for, with
// the form that ends the wait: the decide form of an approval the user may decide, the
// send-signal form of a signal (./Waiting.tsx). A sub_workflow or for_each step shows its child
// executions, their progress on its node, and a child links back to its parent (./Children.tsx).
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow, type NodeChange } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, ApiError, type ComponentRun, type Definition, type Execution, type Workflow } from '../lib/api';
import { follow, onLive, watchConnected } from '../lib/live';
import { can, useAuth } from '../lib/auth';
import { ms } from '../lib/format';
import { ErrorBox, JsonView, Modal, Spinner, StatusBadge, useToast } from '../lib/ui';
import { parseParameters } from './ScheduleForm';
import { nodeTypes } from '../designer/FlowNode';
import { toGraph, type FNode } from '../designer/graph';
import { autoLayout, quickLayout } from '../designer/layout';
import RunDialog from './RunDialog';
import { WaitItem } from './Waiting';
import { CHILD_KINDS, ChildOf, ChildrenOverview, groupChildren, progressOf, StepChildrenPanel, useChildren, useInlineBody, type StepChildren } from './Children';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

interface Live {
  status: string;
  attempt?: number;
  duration?: number | null;
  error?: string | null;
}

interface Detail extends Execution {
  attempts?: { component_id: string; attempt: number; status: string; error_message: string | null; started_at: string; finished_at: string | null }[];
}

function useExecutionFeed(id: string, onEvent: (d: any) => void) {
  const [connected, setConnected] = useState(false);
  const cb = useRef(onEvent);
  cb.current = onEvent;
  useEffect(() => {
    // The tab's shared /ws connection (../lib/live.ts): it renews the token on every reconnect
    // and subscribes again, and the bell's notifications arrive on the same socket.
    const off = onLive((msg) => {
      if (msg.type !== 'workflow_update') return;
      if (msg.data?.execution_id && msg.data.execution_id !== id) return;
      cb.current(msg.data);
    });
    const unfollow = follow('execution_id', id);
    const unwatch = watchConnected(setConnected);
    return () => {
      unwatch();
      unfollow();
      off();
    };
  }, [id]);
  return connected;
}

function Gantt({ comps, exec, waiting }: { comps: ComponentRun[]; exec: Execution; waiting: Set<string> }) {
  const runs = comps.filter((c) => c.started_at);
  if (!runs.length) return <p className="muted small">No component has started yet.</p>;
  const t0 = Math.min(...runs.map((c) => Date.parse(c.started_at!)), Date.parse(exec.started_at ?? exec.created_at));
  const t1 = Math.max(...runs.map((c) => Date.parse(c.completed_at ?? new Date().toISOString())), t0 + 1);
  const span = t1 - t0;
  return (
    <div className="gantt" role="table" aria-label="Timeline">
      {runs
        .sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!))
        .map((c) => {
          const s = Date.parse(c.started_at!) - t0;
          const e = Date.parse(c.completed_at ?? new Date().toISOString()) - t0;
          return (
            <div className="gantt-row" role="row" key={c.component_id}>
              <span className="gantt-label" role="cell">
                {c.component_id}
              </span>
              <span className="gantt-track" role="cell">
                <span className={`gantt-bar st-${waiting.has(c.component_id) ? 'waiting' : c.status}`} style={{ left: `${(s / span) * 100}%`, width: `max(3px, ${((e - s) / span) * 100}%)` }} title={`${c.component_id}: ${ms(c.duration_ms ?? e - s)}`} />
              </span>
              <span className="gantt-dur" role="cell">
                {ms(c.duration_ms ?? e - s)}
              </span>
            </div>
          );
        })}
    </div>
  );
}

/** The components of a going execution that wait for a decision or a signal (not those running children). */
function waitingOf(exec: Execution): ComponentRun[] {
  if (TERMINAL.has(exec.status)) return [];
  return (exec.components ?? []).filter((c) => c.waiting && c.waiting.kind !== 'children' && c.status === 'running');
}

interface StepChildInfo {
  type: string;
  group?: StepChildren;
  loading: boolean;
  error: unknown;
}

function NodeDetail({ exec, cid, logs, actions, operate, childInfo }: { exec: Detail; cid: string; logs: any[]; actions?: ReactNode; operate: boolean; childInfo?: StepChildInfo }) {
  const [tab, setTab] = useState<'output' | 'input' | 'attempts' | 'logs'>('output');
  const q = useQuery({
    queryKey: ['exec-comp', exec.id, cid, exec.status],
    queryFn: () => api<ComponentRun>(`executions/${exec.id}/components/${encodeURIComponent(cid)}`),
    retry: false,
  });
  const comp = q.data ?? exec.components?.find((c) => c.component_id === cid);
  const attempts = (exec.attempts ?? []).filter((a) => a.component_id === cid);
  const mine = logs.filter((l) => l.component_id === cid);
  const tabs = ['output', 'input', 'attempts', 'logs'] as const;
  const waiting = waitingOf(exec).find((c) => c.component_id === cid);
  return (
    <div className="panel-section" data-testid="exec-node-panel">
      <h2>
        {cid} {comp && <StatusBadge status={comp.status} />}
      </h2>
      {comp?.error_message && <div className="field-error">{comp.error_message}</div>}
      {actions && <div className="row">{actions}</div>}
      {waiting && <WaitItem key={cid} executionId={exec.id} comp={waiting} operate={operate} />}
      {childInfo && <StepChildrenPanel key={cid} comp={exec.components?.find((c) => c.component_id === cid)} type={childInfo.type} group={childInfo.group} loading={childInfo.loading} error={childInfo.error} />}
      <div className="tabs" role="tablist" aria-label="Component details">
        {tabs.map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t}
            {t === 'attempts' ? ` (${attempts.length || comp?.attempt || 0})` : t === 'logs' ? ` (${mine.length})` : ''}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {q.isLoading && <Spinner />}
        {tab === 'output' && <JsonView label="Output" value={comp?.output_data ?? null} />}
        {tab === 'input' && <JsonView label="Input" value={comp?.input_data ?? null} />}
        {tab === 'attempts' && (
          <table className="table compact">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th>Took</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>{a.finished_at ? ms(Date.parse(a.finished_at) - Date.parse(a.started_at)) : '…'}</td>
                  <td className="small">{a.error_message ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {tab === 'logs' && (
          <ul className="logs" data-testid="node-logs">
            {mine.length === 0 && <li className="muted">No log lines.</li>}
            {mine.map((l, i) => (
              <li key={i} className={`log-${l.level}`}>
                <time>{l.timestamp?.slice(11, 23)}</time> <span className="lvl">{l.level}</span> {l.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

/** A refusal in the server's own words when it names no field (a 409's reason says what is in the way). */
function refusal(e: unknown) {
  if (!(e instanceof ApiError)) return e;
  const issues = Array.isArray(e.details) ? e.details : [];
  return issues.length || !e.reason ? e : new ApiError(e.status, e.reason, null);
}

/**
 * Rerun an ended execution from one component: a new execution of the same version that keeps
 * this one's records upstream of it, and runs it and the rest again, with these parameters or
 * new ones. The server refuses (409) when something upstream of it did not complete.
 */
function RerunDialog({ exec, from, onClose }: { exec: Execution; from: string; onClose: () => void }) {
  const nav = useNavigate();
  const toast = useToast();
  const original = useMemo(() => JSON.stringify(exec.parameters ?? {}, null, 2), [exec.parameters]);
  const [text, setText] = useState(original);
  const [local, setLocal] = useState<string | null>(null);
  const rerun = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Execution>(`executions/${exec.id}/rerun`, { body }),
    onSuccess: (x) => {
      toast(`Rerunning from ${from}`);
      nav(`/executions/${x.id}`);
    },
  });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const p = parseParameters(text);
    if (p.error) {
      rerun.reset();
      setLocal(p.error);
      return;
    }
    setLocal(null);
    // The original's parameters unless they were changed.
    const same = JSON.stringify(p.value) === JSON.stringify(exec.parameters ?? {});
    rerun.mutate({ from, ...(same ? {} : { parameters: p.value }) });
  };
  const issues = rerun.error instanceof ApiError && Array.isArray(rerun.error.details) ? (rerun.error.details as { path?: string; message?: string }[]) : [];
  const paramIssue = issues.find((i) => i.path?.startsWith('parameters'))?.message;
  const error = local ?? paramIssue;
  return (
    <Modal title={`Rerun from “${from}”`} onClose={onClose}>
      <form onSubmit={submit} aria-label={`Rerun from ${from}`}>
        <p>
          A new run of version {exec.workflow_version}: the components upstream of <code>{from}</code> keep this run's results, and <code>{from}</code> and
          everything after it run again.
        </p>
        <div className={`field ${error ? 'invalid' : ''}`} data-testid="field-rerun-parameters">
          <label htmlFor="rerun-parameters" className="field-label">
            Parameters (JSON)
          </label>
          <textarea
            id="rerun-parameters"
            spellCheck={false}
            rows={5}
            value={text}
            aria-describedby={`rerun-parameters-hint${error ? ' rerun-parameters-error' : ''}`}
            aria-invalid={!!error}
            onChange={(e) => {
              setText(e.target.value);
              setLocal(null);
            }}
          />
          <span id="rerun-parameters-hint" className="field-help">
            This run's parameters; change them to rerun with others.
          </span>
          {error && (
            <span id="rerun-parameters-error" className="field-error" role="alert">
              {error}
            </span>
          )}
        </div>
        <ErrorBox error={paramIssue ? null : refusal(rerun.error)} title="Could not rerun" />
        <footer className="modal-foot">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={rerun.isPending} data-testid="start-rerun">
            {rerun.isPending ? 'Starting…' : `↻ Rerun from ${from}`}
          </button>
        </footer>
      </form>
    </Modal>
  );
}

function Inner() {
  const { id = '' } = useParams();
  const nav = useNavigate();
  const toast = useToast();
  const qc = useQueryClient();
  const { user } = useAuth();
  const operate = can(user, 'run');
  const rf = useReactFlow();
  const [sp] = useSearchParams();
  const [live, setLive] = useState<Record<string, Live>>({});
  const [execStatus, setExecStatus] = useState<string | null>(null);
  const [pausedAt, setPausedAt] = useState<string | null>(null);
  // ?step= (the "child of" link of a child) opens that step's panel.
  const [selected, setSelected] = useState<string | null>(() => sp.get('step'));
  const [bottom, setBottom] = useState<'timeline' | 'logs'>('timeline');
  const [rerun, setRerun] = useState(false);
  const [rerunFrom, setRerunFrom] = useState<string | null>(null);
  const closeRerunFrom = useCallback(() => setRerunFrom(null), []);
  const exec = useQuery({
    queryKey: ['execution', id],
    queryFn: () => api<Detail>(`executions/${id}`),
    refetchInterval: (q) => (q.state.data && TERMINAL.has(q.state.data.status) ? false : 2000),
  });
  // A child of a for_each's inline body runs that body, not its workflow's definition.
  const body = useInlineBody(exec.data);
  const inline = body.data ?? null;
  const wfId = exec.data?.workflow_id;
  const wf = useQuery({ queryKey: ['workflow', wfId], queryFn: () => api<Workflow>(`workflows/${wfId}`), enabled: !!wfId });
  const needVersions = !!wf.data && !!exec.data && wf.data.version !== exec.data.workflow_version && !inline && !body.isLoading;
  const versions = useQuery({ queryKey: ['versions', wfId], queryFn: () => api<any[]>(`workflows/${wfId}/versions`), enabled: needVersions });
  const status = execStatus && exec.data && !TERMINAL.has(exec.data.status) ? execStatus : exec.data?.status;
  const isPaused = status === 'paused';
  const debug = useQuery({ queryKey: ['debug', id, pausedAt, exec.data?.status], queryFn: () => api<any>(`executions/${id}/debug`), enabled: isPaused });
  const logs = useQuery({ queryKey: ['logs', id, exec.dataUpdatedAt], queryFn: () => api<any[]>(`executions/${id}/logs`) });

  const connected = useExecutionFeed(id, (d) => {
    if (d.type === 'component') {
      setLive((l) => ({ ...l, [d.component_id]: { status: d.status, attempt: d.attempt, duration: d.duration_ms, error: d.error } }));
      if (d.status === 'running') setPausedAt(null);
    } else if (d.type === 'execution') {
      setExecStatus(d.status);
      if (d.status !== 'paused') setPausedAt(null);
      if (TERMINAL.has(d.status) || d.status === 'paused') qc.invalidateQueries({ queryKey: ['execution', id] });
    } else if (d.type === 'paused') {
      setPausedAt(d.component_id);
      setExecStatus('paused');
      qc.invalidateQueries({ queryKey: ['execution', id] });
    }
  });

  const definition: Definition | null = useMemo(() => {
    if (inline) return inline;
    if (!wf.data || !exec.data || body.isLoading) return null;
    if (!needVersions) return wf.data.definition;
    return versions.data?.find((v) => v.version === exec.data!.workflow_version)?.definition ?? null;
  }, [wf.data, exec.data?.workflow_version, versions.data, needVersions, inline, body.isLoading]); // eslint-disable-line react-hooks/exhaustive-deps

  const [baseNodes, setBaseNodes] = useState<FNode[] | null>(null);
  const graph = useMemo(() => (definition ? toGraph(definition) : null), [definition]);
  useEffect(() => {
    if (!graph) return;
    const done = (ns: FNode[]) => {
      setBaseNodes(ns);
      requestAnimationFrame(() => rf.fitView({ padding: 0.15, maxZoom: 1.1 }));
    };
    if (graph.positioned) done(graph.nodes);
    else if (graph.nodes.length > 300) done(quickLayout(graph.nodes, graph.edges));
    else autoLayout(graph.nodes, graph.edges).then(done, () => done(graph.nodes));
  }, [graph, rf]);

  const comps = exec.data?.components ?? [];
  const stored = useMemo(() => new Map(comps.map((c) => [c.component_id, c])), [comps]);
  // The sub_workflow and for_each steps, and their children.
  const childSteps = useMemo(() => (definition?.components ?? []).filter((c) => CHILD_KINDS.has(c.type)).map((c) => ({ id: c.id, type: c.type })), [definition]);
  const children = useChildren(exec.data, comps.some((c) => CHILD_KINDS.has(c.component_type)));
  const groups = useMemo(() => groupChildren(children.data), [children.data]);
  const bps = new Set(exec.data?.breakpoints ?? []);
  const paused = isPaused ? (debug.data?.paused_at?.[0] ?? pausedAt) : null;
  // Measured sizes kept here: the nodes are rebuilt on every status change, and a node without
  // its measurement would be hidden again by React Flow until it is re-measured.
  const [dims, setDims] = useState<Record<string, { width: number; height: number }>>({});
  const onNodesChange = (changes: NodeChange[]) => {
    const next: Record<string, { width: number; height: number }> = {};
    for (const c of changes) if (c.type === 'dimensions' && c.dimensions) next[c.id] = c.dimensions;
    if (Object.keys(next).length) setDims((d) => ({ ...d, ...next }));
    // A node chosen by keyboard (Enter or Space on a focused node; Escape lets it go), as a click does.
    const picked = changes.find((c) => c.type === 'select' && c.selected);
    if (picked && 'id' in picked) setSelected(picked.id);
    else if (changes.some((c) => c.type === 'select' && !c.selected && c.id === selected)) setSelected(null);
  };
  const nodes = useMemo(
    () =>
      (baseNodes ?? []).map((n) => {
        const s = stored.get(n.id);
        const l = live[n.id];
        let st = (s && TERMINAL.has(s.status) || s?.status === 'skipped') ? s.status : l?.status ?? s?.status;
        // A step that waits for a decision or a signal is running, drawn apart (one running its child executions is drawn as running).
        if (st === 'running' && s?.waiting && s.waiting.kind !== 'children' && !TERMINAL.has(exec.data?.status ?? '')) st = 'waiting';
        return {
          ...n,
          selected: n.id === selected,
          draggable: false,
          measured: dims[n.id] ?? { width: 200, height: 56 },
          data: {
            ...n.data,
            status: n.id === paused ? 'paused' : st && st !== 'pending' ? st : undefined,
            duration: s?.duration_ms ?? l?.duration,
            breakpoint: bps.has(n.id),
            paused: n.id === paused,
            progress: CHILD_KINDS.has(n.data.comp.type) && s ? progressOf(s, groups.get(n.id)) : undefined,
          },
        };
      }),
    [baseNodes, stored, live, selected, paused, exec.data?.breakpoints, exec.data?.status, dims, groups], // eslint-disable-line react-hooks/exhaustive-deps
  );

  const act = async (path: string, body: unknown = {}, done = 'Done') => {
    try {
      const r = await api<any>(`executions/${id}/${path}`, { body });
      toast(done);
      setExecStatus(null);
      qc.invalidateQueries({ queryKey: ['execution', id] });
      qc.invalidateQueries({ queryKey: ['debug', id] });
      return r;
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  };
  const toggleBp = async (cid: string) => {
    const next = new Set(bps);
    if (next.has(cid)) next.delete(cid);
    else next.add(cid);
    try {
      await api(`executions/${id}/breakpoints`, { method: 'PUT', body: { breakpoints: [...next] } });
      qc.invalidateQueries({ queryKey: ['execution', id] });
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  };

  if (exec.error) return <div className="page"><ErrorBox error={exec.error} /></div>;
  if (!exec.data) return <Spinner label="Loading the execution" />;
  const e = exec.data;
  const waits = waitingOf(e);
  const counts = comps.reduce<Record<string, number>>((m, c) => {
    const k = waits.includes(c) ? 'waiting' : c.status;
    m[k] = (m[k] ?? 0) + 1;
    return m;
  }, {});
  const running = status && !TERMINAL.has(status);
  const childOf = (cid: string): StepChildInfo | undefined => {
    const t = childSteps.find((c) => c.id === cid)?.type;
    return t ? { type: t, group: groups.get(cid), loading: children.isLoading, error: children.error } : undefined;
  };

  return (
    <div className="designer exec-view">
      <header className="toolbar">
        <div className="tb-title">
          <Link to={`/workflows/${e.workflow_id}/design`} className="strong">
            {wf.data?.name ?? 'Workflow'}
          </Link>
          <span className="muted small in-text">
            run {e.id.slice(-8)} · v{e.workflow_version} · priority {e.priority}
            {e.rerun_of && (
              <>
                {' · '}
                <Link to={`/executions/${e.rerun_of}`} data-testid="rerun-of">
                  rerun of {e.rerun_of.slice(-8)}
                </Link>
              </>
            )}
            {e.parent && (
              <>
                {' · '}
                <ChildOf parent={e.parent} />
              </>
            )}
            {inline && ' · inline body'}
          </span>
        </div>
        <div className="tb-group">
          <span data-testid="exec-status">
            <StatusBadge status={status ?? e.status} />
          </span>
          <span className="muted small">{ms(e.duration_ms)}</span>
          <span className={`live-dot ${connected ? 'on' : ''}`} title={connected ? 'Live' : 'Reconnecting'}>
            <span className="sr-only">{connected ? 'Live updates connected' : 'Live updates disconnected'}</span>
          </span>
          {Object.entries(counts).map(([k, v]) => (
            <span key={k} className={`count st-${k}`}>
              {v} {k}
            </span>
          ))}
        </div>
        {operate && (
          <div className="tb-group">
            {running && (
              <button className="btn danger" onClick={() => act('cancel', {}, 'Cancel requested')}>
                Cancel
              </button>
            )}
            {(status === 'failed' || status === 'cancelled') && (
              <button className="btn" onClick={() => act('retry', {}, 'Retrying from the failed components')}>
                Retry
              </button>
            )}
            {TERMINAL.has(status ?? '') && wf.data && !inline && (
              <button className="btn primary" onClick={() => setRerun(true)}>
                ▶ Run again
              </button>
            )}
          </div>
        )}
      </header>
      {isPaused && (
        <div className="debug-bar" role="region" aria-label="Debugger" data-testid="debugger">
          <span className="debug-title">
            Paused before <strong data-testid="paused-at">{paused ?? '…'}</strong>
          </span>
          {operate && (
            <>
              <button className="btn sm" onClick={() => act('resume', { step: true }, 'Stepped')} data-testid="step">
                Step →
              </button>
              <button className="btn sm primary" onClick={() => act('resume', {}, 'Continuing')} data-testid="continue">
                Continue ▶
              </button>
            </>
          )}
        </div>
      )}
      <div className="designer-body">
        <div className="canvas">
          {!baseNodes ? (
            <Spinner label="Drawing the graph" />
          ) : (
            <ReactFlow
              nodes={nodes}
              edges={graph?.edges ?? []}
              nodeTypes={nodeTypes}
              nodesDraggable={false}
              nodesConnectable={false}
              onNodesChange={onNodesChange}
              onNodeClick={(_, n) => setSelected(n.id)}
              onPaneClick={() => setSelected(null)}
              onlyRenderVisibleElements={nodes.length > 200}
              minZoom={0.05}
              proOptions={{ hideAttribution: true }}
              aria-label="Execution graph"
            >
              <Background gap={20} size={1} />
              <Controls showInteractive={false} />
              <MiniMap pannable zoomable ariaLabel="Mini map" nodeColor={(n) => `var(--st-${(n.data as any)?.status ?? 'none'})`} />
            </ReactFlow>
          )}
        </div>
        <aside className="side-panel" aria-label="Details">
          {isPaused && (
            <div className="panel-section debug-panel">
              <h2>Debugger</h2>
              <h3>Waiting input{paused ? ` of ${paused}` : ''}</h3>
              <JsonView label="Waiting input" value={paused ? debug.data?.inputs?.[paused] : debug.data?.inputs} />
              <h3>Variables</h3>
              <JsonView label="Variables" value={debug.data?.variables ?? {}} />
              <h3>Parameters</h3>
              <JsonView label="Parameters" value={debug.data?.parameters ?? e.parameters} />
            </div>
          )}
          {selected ? (
            <>
              {operate && running && (
                <div className="panel-section">
                  <button className={`btn sm ${bps.has(selected) ? 'bp-on' : ''}`} aria-pressed={bps.has(selected)} onClick={() => toggleBp(selected)}>
                    ● {bps.has(selected) ? 'Remove breakpoint' : 'Break here'}
                  </button>
                </div>
              )}
              <NodeDetail
                exec={e}
                cid={selected}
                operate={operate}
                logs={logs.data ?? []}
                childInfo={childOf(selected)}
                actions={
                  operate && TERMINAL.has(status ?? '') ? (
                    <button className="btn sm" onClick={() => setRerunFrom(selected)} data-testid="rerun-from" title="A new run that keeps this run's results upstream of this component">
                      ↻ Rerun from here
                    </button>
                  ) : null
                }
              />
            </>
          ) : (
            <>
              {waits.length > 0 && (
                <div className="panel-section wait-panel" role="region" aria-label="Waiting steps" data-testid="waits">
                  <h2>Waiting</h2>
                  {waits.map((c) => (
                    <div key={c.component_id}>
                      <h3>
                        <button type="button" className="link-btn" onClick={() => setSelected(c.component_id)} aria-label={`Show step ${c.component_id}`}>
                          {c.component_id}
                        </button>
                      </h3>
                      <WaitItem executionId={e.id} comp={c} operate={operate} />
                    </div>
                  ))}
                </div>
              )}
              {childSteps.length > 0 && <ChildrenOverview steps={childSteps} comps={stored} groups={groups} loading={children.isLoading} onShow={setSelected} />}
              <div className="panel-section">
                <h2>Run</h2>
                {e.error_message && <div className="field-error">{e.error_message}</div>}
                <p className="muted small">
                  Click a node (or focus it and press Enter) for its input, output, attempts and logs{operate && TERMINAL.has(status ?? '') ? ', or to rerun the workflow from it' : ''}.
                </p>
                <h3>Parameters</h3>
                <JsonView label="Parameters" value={e.parameters} />
                {e.results !== null && (
                  <>
                    <h3>Result</h3>
                    <JsonView label="Result" value={e.results} />
                  </>
                )}
              </div>
            </>
          )}
        </aside>
      </div>
      <section className="bottom-panel" aria-label="Timeline and logs">
        <div className="tabs" role="tablist">
          <button role="tab" aria-selected={bottom === 'timeline'} className={bottom === 'timeline' ? 'active' : ''} onClick={() => setBottom('timeline')}>
            Timeline
          </button>
          <button role="tab" aria-selected={bottom === 'logs'} className={bottom === 'logs' ? 'active' : ''} onClick={() => setBottom('logs')}>
            Logs ({logs.data?.length ?? 0})
          </button>
        </div>
        <div className="bottom-body">
          {bottom === 'timeline' ? (
            <Gantt comps={comps} exec={e} waiting={new Set(waits.map((c) => c.component_id))} />
          ) : (
            <ul className="logs">
              {(logs.data ?? []).map((l, i) => (
                <li key={i} className={`log-${l.level}`}>
                  <time>{l.timestamp?.slice(11, 23)}</time> <span className="lvl">{l.level}</span> {l.component_id && <code>{l.component_id}</code>} {l.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
      {rerunFrom && <RerunDialog exec={e} from={rerunFrom} onClose={closeRerunFrom} />}
      {rerun && wf.data && <RunDialog workflow={wf.data} breakpoints={e.breakpoints} onClose={() => setRerun(false)} onStarted={(x) => { setRerun(false); setLive({}); setExecStatus(null); nav(`/executions/${x.id}`); }} />}
    </div>
  );
}

export default function ExecutionView() {
  const { id } = useParams();
  return (
    <ReactFlowProvider key={id}>
      <Inner />
    </ReactFlowProvider>
  );
}
