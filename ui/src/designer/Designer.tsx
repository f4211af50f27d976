import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  applyEdgeChanges,
  useReactFlow,
  type Connection as RFConnection,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, type ComponentType, type Definition, type ParameterSpec, type Problem, type Validation, type Workflow } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { ErrorBox, Modal, Spinner, useToast } from '../lib/ui';
import { download } from '../lib/format';
import { nodeTypes, kindIcon } from './FlowNode';
import { fieldOf, problemsByNode, toDefinition, toEdge, toGraph, type FEdge, type FNode } from './graph';
import { autoLayout, quickLayout } from './layout';
import SchemaForm, { Field } from './SchemaForm';
import type { Names } from './CodeField';
import RunDialog from '../pages/RunDialog';
import Versions from './Versions';
import { exportDoc } from '../pages/Workflows';
import { Icon } from '../lib/Icon';

const CATEGORY: Record<string, string> = {
  start: 'Flow',
  end: 'Flow',
  condition: 'Flow',
  switch: 'Flow',
  delay: 'Flow',
  for_each: 'Flow',
  sub_workflow: 'Flow',
  approval: 'Flow',
  task: 'Basics',
  transform: 'Data',
  file_operation: 'Data',
  database_query: 'Data',
  http_request: 'Integrations',
  email: 'Integrations',
  script_execution: 'Code',
};
const categoryOf = (c: ComponentType) => c.category ?? CATEGORY[c.kind] ?? (c.kind.startsWith('apg_') ? 'APG platform' : 'Other');

interface Meta {
  name: string;
  description: string;
  category: string;
  tags: string[];
  priority: number;
}
interface Snapshot {
  nodes: FNode[];
  edges: FEdge[];
  parameters: ParameterSpec[];
}

const EMPTY: Definition = { components: [], connections: [], parameters: [] };

function defaultConfig(t?: ComponentType): Record<string, any> {
  const out: Record<string, any> = {};
  const s = t?.config_schema;
  for (const k of s?.required ?? []) {
    const p = s.properties?.[k];
    if (p?.enum) out[k] = p.enum[0];
  }
  return out;
}

function Palette({ types, onAdd }: { types: ComponentType[]; onAdd: (kind: string) => void }) {
  const [q, setQ] = useState('');
  const groups = useMemo(() => {
    const m = new Map<string, ComponentType[]>();
    for (const t of types) {
      if (q && !`${t.kind} ${t.summary}`.toLowerCase().includes(q.toLowerCase())) continue;
      const c = categoryOf(t);
      m.set(c, [...(m.get(c) ?? []), t]);
    }
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [types, q]);
  return (
    <aside className="palette" aria-label="Component palette">
      <input type="search" placeholder="Search components…" aria-label="Search components" value={q} onChange={(e) => setQ(e.target.value)} />
      {groups.map(([cat, list]) => (
        <section key={cat}>
          <h3>{cat}</h3>
          <ul>
            {list.map((t) => (
              <li key={t.kind}>
                <button
                  className="palette-item"
                  draggable
                  data-testid={`palette-${t.kind}`}
                  onDragStart={(e) => {
                    e.dataTransfer.setData('application/apg-kind', t.kind);
                    e.dataTransfer.effectAllowed = 'move';
                  }}
                  onClick={() => onAdd(t.kind)}
                  title={`${t.summary ?? ''} — drag onto the canvas, or press Enter to add`}
                >
                  <span className={`pi-icon k-${t.kind}`} aria-hidden="true">
                    {kindIcon(t.kind)}
                  </span>
                  <span className="pi-text">
                    <span className="pi-name">{t.kind.replace(/_/g, ' ')}</span>
                    <span className="pi-sum">{t.summary}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </aside>
  );
}

function ParamsEditor({ params, onChange, readOnly }: { params: ParameterSpec[]; onChange: (p: ParameterSpec[]) => void; readOnly?: boolean }) {
  const set = (i: number, p: Partial<ParameterSpec>) => onChange(params.map((x, j) => (j === i ? { ...x, ...p } : x)));
  return (
    <div className="params-editor">
      {params.map((p, i) => (
        <div className="param-row" key={i}>
          <input aria-label={`Parameter ${i + 1} name`} value={p.name} disabled={readOnly} onChange={(e) => set(i, { name: e.target.value })} />
          <select aria-label={`Parameter ${i + 1} type`} value={p.parameter_type ?? 'string'} disabled={readOnly} onChange={(e) => set(i, { parameter_type: e.target.value as any })}>
            {['string', 'integer', 'float', 'boolean', 'list', 'dict'].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <label className="inline small">
            <input type="checkbox" checked={p.required !== false} disabled={readOnly} onChange={(e) => set(i, { required: e.target.checked })} />
            required
          </label>
          {!readOnly && (
            <button className="icon-btn" aria-label={`Remove parameter ${p.name}`} onClick={() => onChange(params.filter((_, j) => j !== i))}>
              ✕
            </button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button className="btn sm" onClick={() => onChange([...params, { name: `param_${params.length + 1}`, parameter_type: 'string', required: true }])}>
          + Add parameter
        </button>
      )}
    </div>
  );
}

const SHORTCUTS: [string, string][] = [
  ['Ctrl+Z', 'Undo'],
  ['Ctrl+Shift+Z / Ctrl+Y', 'Redo'],
  ['Ctrl+C / Ctrl+V', 'Copy / paste the selection (as workflow JSON)'],
  ['Ctrl+A', 'Select everything'],
  ['Delete / Backspace', 'Delete the selection'],
  ['Shift+drag, Ctrl+click', 'Select several'],
  ['Ctrl+S', 'Save a new version'],
  ['L', 'Auto-layout'],
  ['F', 'Zoom to fit'],
  ['B', 'Toggle a breakpoint on the selected node'],
  ['?', 'This sheet'],
];

function DesignerInner() {
  const { id = 'new' } = useParams();
  const isNew = id === 'new';
  const nav = useNavigate();
  const toast = useToast();
  const qc = useQueryClient();
  const { user } = useAuth();
  const editable = can(user, 'edit');
  const runnable = can(user, 'run');
  const rf = useReactFlow();

  const wf = useQuery({ queryKey: ['workflow', id], queryFn: () => api<Workflow>(`workflows/${id}`), enabled: !isNew });
  const types = useQuery({ queryKey: ['components'], queryFn: () => api<ComponentType[]>('components'), staleTime: Infinity });
  const creds = useQuery({ queryKey: ['credentials'], queryFn: () => api<any[]>('credentials'), staleTime: 60_000, retry: false });
  const typeMap = useMemo(() => new Map((types.data ?? []).map((t) => [t.kind, t])), [types.data]);

  const [nodes, setNodes] = useState<FNode[]>([]);
  const [edges, setEdges] = useState<FEdge[]>([]);
  const [params, setParams] = useState<ParameterSpec[]>([]);
  const [meta, setMeta] = useState<Meta>({ name: 'Untitled workflow', description: '', category: '', tags: [], priority: 5 });
  const [base, setBase] = useState<Partial<Definition>>({});
  const [loaded, setLoaded] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [validation, setValidation] = useState<Validation | null>(null);
  const [breakpoints, setBreakpoints] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<null | 'run' | 'versions' | 'keys' | 'settings' | 'leave'>(null);
  const [saving, setSaving] = useState(false);
  const [drawnAt, setDrawnAt] = useState(0);
  const undo = useRef<Snapshot[]>([]);
  const redo = useRef<Snapshot[]>([]);
  const lastCoalesce = useRef<{ key: string; at: number } | null>(null);
  const clip = useRef<string | null>(null);
  const [, force] = useState(0);
  const state = useRef({ nodes, edges, params });
  state.current = { nodes, edges, params };

  // Load once (a definition without positions is laid out first).
  useEffect(() => {
    if (loaded) return;
    if (!isNew && !wf.data) return;
    const w = wf.data;
    const def = w?.definition ?? EMPTY;
    const { components: _c, connections: _k, parameters, ...rest } = def;
    setBase(rest);
    setParams(parameters ?? []);
    if (w) setMeta({ name: w.name, description: w.description ?? '', category: w.category ?? '', tags: w.tags ?? [], priority: w.priority ?? 5 });
    const g = toGraph(def);
    const finish = (ns: FNode[]) => {
      setNodes(ns);
      setEdges(g.edges);
      setLoaded(true);
      requestAnimationFrame(() => {
        rf.fitView({ padding: 0.15, duration: 0, maxZoom: 1 });
        requestAnimationFrame(() => setDrawnAt(performance.now()));
      });
    };
    if (g.positioned || g.nodes.length === 0) finish(g.nodes);
    else if (g.nodes.length > 300) finish(quickLayout(g.nodes, g.edges));
    else autoLayout(g.nodes, g.edges).then(finish, () => finish(g.nodes));
  }, [wf.data, isNew, loaded, rf]);

  const definition = useMemo(() => toDefinition(nodes, edges, { ...base, parameters: params }), [nodes, edges, params, base]);
  // Positions do not change what is validated: key the request on the rest.
  const validationKey = useMemo(
    () => JSON.stringify({ c: definition.components.map(({ position: _p, ...c }) => c), k: definition.connections, p: params }),
    [definition, params],
  );

  // Live validation, debounced.
  useEffect(() => {
    if (!loaded) return;
    const t = setTimeout(() => {
      api<Validation>('workflows/validate', { body: { definition: toDefinition(state.current.nodes, state.current.edges, { ...base, parameters: state.current.params }) } })
        .then(setValidation)
        .catch(() => undefined);
    }, 450);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [validationKey, loaded]);

  const errByNode = useMemo(() => (validation ? problemsByNode(definition, validation.errors) : new Map()), [validation]); // eslint-disable-line react-hooks/exhaustive-deps
  const warnByNode = useMemo(() => (validation ? problemsByNode(definition, validation.warnings) : new Map()), [validation]); // eslint-disable-line react-hooks/exhaustive-deps

  // Decorations on the nodes (identity kept for nodes whose decoration did not change).
  const cache = useRef(new Map<string, { src: FNode; out: FNode }>());
  const viewNodes = useMemo(() => {
    const next = new Map<string, { src: FNode; out: FNode }>();
    const out = nodes.map((n) => {
      const errors = errByNode.get(n.id);
      const warnings = warnByNode.get(n.id);
      const bp = breakpoints.has(n.id);
      const prev = cache.current.get(n.id);
      if (prev && prev.src === n && prev.out.data.errors === errors && prev.out.data.warnings === warnings && prev.out.data.breakpoint === bp) {
        next.set(n.id, prev);
        return prev.out;
      }
      const o = { ...n, data: { ...n.data, errors, warnings, breakpoint: bp } };
      next.set(n.id, { src: n, out: o });
      return o;
    });
    cache.current = next;
    return out;
  }, [nodes, errByNode, warnByNode, breakpoints]);

  // ---- history
  const snapshot = (): Snapshot => ({ nodes: state.current.nodes, edges: state.current.edges, parameters: state.current.params });
  const commit = useCallback((coalesceKey?: string) => {
    const now = Date.now();
    const lc = lastCoalesce.current;
    if (coalesceKey && lc && lc.key === coalesceKey && now - lc.at < 1000) {
      lc.at = now;
    } else {
      undo.current.push(snapshot());
      if (undo.current.length > 200) undo.current.shift();
      lastCoalesce.current = coalesceKey ? { key: coalesceKey, at: now } : null;
    }
    redo.current = [];
    setDirty(true);
    force((x) => x + 1);
  }, []);
  const restore = (s: Snapshot) => {
    setNodes(s.nodes);
    setEdges(s.edges);
    setParams(s.parameters);
    setDirty(true);
  };
  const doUndo = () => {
    const s = undo.current.pop();
    if (!s) return;
    redo.current.push(snapshot());
    lastCoalesce.current = null;
    restore(s);
    force((x) => x + 1);
  };
  const doRedo = () => {
    const s = redo.current.pop();
    if (!s) return;
    undo.current.push(snapshot());
    restore(s);
    force((x) => x + 1);
  };

  // ---- edits
  const selectedNodes = viewNodes.filter((n) => n.selected);
  const selectedEdges = edges.filter((e) => e.selected);
  const sel = selectedNodes.length === 1 && selectedEdges.length === 0 ? selectedNodes[0] : null;
  const selEdge = selectedEdges.length === 1 && selectedNodes.length === 0 ? selectedEdges[0] : null;

  const uniqueId = (kind: string, taken: Set<string>) => {
    let i = 1;
    while (taken.has(`${kind}_${i}`)) i++;
    return `${kind}_${i}`;
  };
  const addNode = (kind: string, position?: { x: number; y: number }) => {
    if (!editable) return;
    commit();
    const taken = new Set(state.current.nodes.map((n) => n.id));
    const nid = kind === 'start' && !taken.has('start') ? 'start' : kind === 'end' && !taken.has('end') ? 'end' : uniqueId(kind, taken);
    const pos =
      position ??
      rf.screenToFlowPosition({ x: window.innerWidth / 2 - 100 + (state.current.nodes.length % 5) * 20, y: window.innerHeight / 2 + (state.current.nodes.length % 5) * 20 });
    const n: FNode = { id: nid, type: 'apg', position: pos, selected: true, data: { comp: { id: nid, type: kind, config: defaultConfig(typeMap.get(kind)) } } };
    setNodes((ns) => [...ns.map((x) => (x.selected ? { ...x, selected: false } : x)), n]);
    setEdges((es) => es.map((e) => (e.selected ? { ...e, selected: false } : e)));
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const kind = e.dataTransfer.getData('application/apg-kind');
    if (!kind) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addNode(kind, { x: p.x - 100, y: p.y - 28 });
  };
  const onNodesChange = useCallback(
    (changes: NodeChange<FNode>[]) => {
      const meaningful = changes.filter((c) => c.type !== 'select' && c.type !== 'dimensions');
      if (!editable && meaningful.length) return;
      if (changes.some((c) => c.type === 'remove')) commit();
      setNodes((ns) => applyNodeChanges(changes, ns));
    },
    [editable, commit],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<FEdge>[]) => {
      if (!editable && changes.some((c) => c.type !== 'select')) return;
      if (changes.some((c) => c.type === 'remove')) commit();
      setEdges((es) => applyEdgeChanges(changes, es));
    },
    [editable, commit],
  );
  const onConnect = useCallback(
    (c: RFConnection) => {
      if (!editable || !c.source || !c.target || c.source === c.target) return;
      commit();
      setEdges((es) => [...es, toEdge({ source: c.source, target: c.target, type: 'success' }, Date.now() % 1e9)]);
    },
    [editable, commit],
  );
  const updateComp = (nid: string, f: (c: FNode['data']['comp']) => FNode['data']['comp'], key?: string) => {
    commit(key);
    setNodes((ns) => ns.map((n) => (n.id === nid ? { ...n, data: { ...n.data, comp: f(n.data.comp) } } : n)));
  };
  const renameNode = (from: string, to: string) => {
    if (!to || from === to || state.current.nodes.some((n) => n.id === to)) return false;
    commit();
    setNodes((ns) => ns.map((n) => (n.id === from ? { ...n, id: to, data: { ...n.data, comp: { ...n.data.comp, id: to } } } : n)));
    setEdges((es) =>
      es.map((e, i) =>
        e.source === from || e.target === from
          ? { ...toEdge({ ...e.data!.conn, source: e.source === from ? to : e.source, target: e.target === from ? to : e.target }, i), selected: e.selected }
          : e,
      ),
    );
    return true;
  };
  const updateEdge = (eid: string, patch: Record<string, any>) => {
    commit(`edge-${eid}`);
    setEdges((es) =>
      es.map((e, i) => {
        if (e.id !== eid) return e;
        const conn = { ...e.data!.conn, ...patch };
        for (const k of Object.keys(conn)) if (conn[k] === undefined || conn[k] === '') delete conn[k];
        return { ...toEdge(conn, i), id: e.id, selected: true };
      }),
    );
  };
  const deleteSelection = () => {
    if (!editable) return;
    const ids = new Set(state.current.nodes.filter((n) => n.selected).map((n) => n.id));
    if (!ids.size && !state.current.edges.some((e) => e.selected)) return;
    commit();
    setNodes((ns) => ns.filter((n) => !n.selected));
    setEdges((es) => es.filter((e) => !e.selected && !ids.has(e.source) && !ids.has(e.target)));
  };
  const copy = async () => {
    const ns = state.current.nodes.filter((n) => n.selected);
    if (!ns.length) return;
    const ids = new Set(ns.map((n) => n.id));
    const def = toDefinition(ns, state.current.edges.filter((e) => ids.has(e.source) && ids.has(e.target)), {});
    const text = JSON.stringify({ components: def.components, connections: def.connections });
    clip.current = text;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      /* the in-page clipboard still has it */
    }
    toast(`Copied ${ns.length} component${ns.length > 1 ? 's' : ''}`, 'info');
  };
  const paste = async () => {
    if (!editable) return;
    let text = clip.current;
    try {
      text = (await navigator.clipboard.readText()) || text;
    } catch {
      /* fall back to the in-page clipboard */
    }
    if (!text) return;
    let doc: Definition;
    try {
      doc = JSON.parse(text);
      if (!Array.isArray(doc.components)) doc = (doc as any).definition;
      if (!Array.isArray(doc?.components)) throw new Error();
    } catch {
      toast('The clipboard holds no workflow JSON', 'error');
      return;
    }
    commit();
    const taken = new Set(state.current.nodes.map((n) => n.id));
    const rename = new Map<string, string>();
    for (const c of doc.components) {
      const nid = taken.has(c.id) ? uniqueId(c.id.replace(/_\d+$/, ''), taken) : c.id;
      taken.add(nid);
      rename.set(c.id, nid);
    }
    const newNodes: FNode[] = doc.components.map((c, i) => ({
      id: rename.get(c.id)!,
      type: 'apg',
      selected: true,
      position: { x: (c.position?.x ?? i * 220) + 40, y: (c.position?.y ?? 0) + 40 },
      data: { comp: { ...c, id: rename.get(c.id)! } },
    }));
    const newEdges = (doc.connections ?? [])
      .filter((k) => rename.has(k.source) && rename.has(k.target))
      .map((k, i) => toEdge({ ...k, source: rename.get(k.source)!, target: rename.get(k.target)! }, Date.now() % 1e9 + i));
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...newNodes]);
    setEdges((es) => [...es, ...newEdges]);
  };
  const layout = async () => {
    if (!editable && !nodes.length) return;
    const ns = state.current.nodes.length > 300 ? quickLayout(state.current.nodes, state.current.edges) : await autoLayout(state.current.nodes, state.current.edges);
    if (editable) commit();
    setNodes(ns);
    requestAnimationFrame(() => rf.fitView({ padding: 0.15, duration: 300, maxZoom: 1.2 }));
  };
  const toggleBreakpoint = (nid: string) =>
    setBreakpoints((b) => {
      const n = new Set(b);
      if (n.has(nid)) n.delete(nid);
      else n.add(nid);
      return n;
    });

  const save = async (): Promise<Workflow | null> => {
    if (!editable) return null;
    setSaving(true);
    try {
      const body = {
        name: meta.name.trim() || 'Untitled workflow',
        description: meta.description || null,
        category: meta.category || null,
        tags: meta.tags,
        priority: meta.priority,
        definition: toDefinition(state.current.nodes, state.current.edges, { ...base, parameters: state.current.params }),
      };
      const w = isNew ? await api<Workflow>('workflows', { body }) : await api<Workflow>(`workflows/${id}`, { method: 'PUT', body });
      setDirty(false);
      qc.invalidateQueries({ queryKey: ['workflows'] });
      qc.invalidateQueries({ queryKey: ['versions', w.id] });
      qc.setQueryData(['workflow', w.id], w);
      toast(`Saved — version ${w.version}`);
      if (isNew) nav(`/workflows/${w.id}/design`, { replace: true });
      return w;
    } catch (e) {
      const err = e as any;
      const detail = Array.isArray(err.details) ? err.details.map((d: Problem) => d.message).join('; ') : '';
      toast(`${err.message}${detail ? `: ${detail}` : ''}`, 'error');
      return null;
    } finally {
      setSaving(false);
    }
  };

  // ---- keyboard
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const typing = t.closest('input, textarea, select, .cm-editor, [contenteditable="true"]');
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key.toLowerCase() === 's') {
        e.preventDefault();
        save();
        return;
      }
      if (typing || document.querySelector('.modal')) return;
      if (mod && e.key.toLowerCase() === 'z' && !e.shiftKey) {
        e.preventDefault();
        doUndo();
      } else if (mod && ((e.key.toLowerCase() === 'z' && e.shiftKey) || e.key.toLowerCase() === 'y')) {
        e.preventDefault();
        doRedo();
      } else if (mod && e.key.toLowerCase() === 'c') copy();
      else if (mod && e.key.toLowerCase() === 'v') paste();
      else if (mod && e.key.toLowerCase() === 'a') {
        e.preventDefault();
        setNodes((ns) => ns.map((n) => ({ ...n, selected: true })));
      } else if (e.key === 'Delete' || e.key === 'Backspace') deleteSelection();
      else if (e.key === '?') setDialog('keys');
      else if (e.key === 'l' || e.key === 'L') layout();
      else if (e.key === 'f' || e.key === 'F') rf.fitView({ padding: 0.15, duration: 300, maxZoom: 1.2 });
      else if ((e.key === 'b' || e.key === 'B') && sel) toggleBreakpoint(sel.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  // Expose the draw time for the browser tests' large-graph figure.
  useEffect(() => {
    if (drawnAt) (window as any).__apgDrawnAt = drawnAt;
  }, [drawnAt]);

  const names: Names = useMemo(
    () => ({ params: params.map((p) => p.name), steps: nodes.map((n) => n.id), credentials: (creds.data ?? []).map((c) => c.name) }),
    [params, nodes.length, creds.data], // eslint-disable-line react-hooks/exhaustive-deps
  );

  if (!isNew && wf.error) return <div className="page"><ErrorBox error={wf.error} /></div>;
  if ((!isNew && wf.isLoading) || types.isLoading) return <Spinner label="Opening the designer" />;

  const selProblems = new Map<string, Problem[]>();
  if (sel) {
    for (const p of errByNode.get(sel.id) ?? []) {
      const f = fieldOf(p) ?? '_';
      selProblems.set(f, [...(selProblems.get(f) ?? []), p]);
    }
    for (const p of warnByNode.get(sel.id) ?? []) {
      const f = fieldOf(p) ?? '_';
      selProblems.set(f, [...(selProblems.get(f) ?? []), { ...p, path: `warn:${p.path}` }]);
    }
  }
  const errCount = validation?.errors.length ?? 0;
  const warnCount = validation?.warnings.length ?? 0;
  const big = nodes.length > 200;

  return (
    <div className="designer">
      <header className="toolbar" aria-label="Designer toolbar">
        <div className="tb-title">
          <input
            className="title-input"
            aria-label="Workflow name"
            value={meta.name}
            readOnly={!editable}
            onChange={(e) => {
              setMeta({ ...meta, name: e.target.value });
              setDirty(true);
            }}
          />
          <span className="muted small">
            {isNew ? 'new' : `v${wf.data?.version}`}
            {dirty ? ' · unsaved' : ''}
            {!editable ? ' · read-only' : ''}
          </span>
        </div>
        <div className="tb-group" role="group" aria-label="Edit">
          {editable && (
            <>
              <button className="icon-btn" onClick={doUndo} disabled={!undo.current.length} aria-label="Undo" title="Undo (Ctrl+Z)">
                <Icon name="undo" />
              </button>
              <button className="icon-btn" onClick={doRedo} disabled={!redo.current.length} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
                <Icon name="redo" />
              </button>
            </>
          )}
          <button className="icon-btn" onClick={layout} aria-label="Auto-layout" title="Auto-layout (L)" disabled={!editable}>
            <Icon name="layout" />
          </button>
          <button className="icon-btn" onClick={() => rf.fitView({ padding: 0.15, duration: 300, maxZoom: 1.2 })} aria-label="Zoom to fit" title="Zoom to fit (F)">
            <Icon name="fit" />
          </button>
          <button className="icon-btn" onClick={() => setDialog('keys')} aria-label="Keyboard shortcuts" title="Shortcuts (?)">
            <Icon name="help" />
          </button>
        </div>
        <div className="tb-group">
          <span
            className={`validity ${errCount ? 'bad' : 'good'}`}
            data-testid="validity"
            aria-live="polite"
          >
            {validation ? (errCount ? `${errCount} problem${errCount > 1 ? 's' : ''}` : 'Valid') : 'Checking…'}
            {warnCount ? ` · ${warnCount} warning${warnCount > 1 ? 's' : ''}` : ''}
          </span>
          {!isNew && (
            <button className="btn ghost" onClick={() => setDialog('versions')}>
              Versions
            </button>
          )}
          {!isNew && (
            <Link
              className="btn ghost"
              to={`/workflows/${id}/webhooks`}
              onClick={(e) => {
                // Leaving drops what is not saved: ask first.
                if (dirty && editable) {
                  e.preventDefault();
                  setDialog('leave');
                }
              }}
            >
              Webhooks
            </Link>
          )}
          {!isNew && wf.data && (
            <button className="btn ghost" onClick={() => download(`${meta.name.replace(/[^\w.-]+/g, '_')}.json`, JSON.stringify(exportDoc({ ...wf.data, ...meta, definition }), null, 2))}>
              Export
            </button>
          )}
          <button className="btn ghost" onClick={() => setDialog('settings')}>
            Settings
          </button>
          {editable && (
            <button className="btn" onClick={() => save()} disabled={saving} data-testid="save">
              {saving ? 'Saving…' : 'Save'}
            </button>
          )}
          {runnable && !isNew && (
            <button
              className="btn primary"
              data-testid="run"
              onClick={async () => {
                if (dirty && editable && !(await save())) return;
                setDialog('run');
              }}
            >
              ▶ Run{breakpoints.size ? ' (debug)' : ''}
            </button>
          )}
        </div>
      </header>
      <div className="designer-body">
        {editable && <Palette types={types.data ?? []} onAdd={(k) => addNode(k)} />}
        <div className="canvas" onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }} onDrop={onDrop} data-testid="canvas">
          <ReactFlow
            nodes={viewNodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeDragStart={() => commit()}
            nodesDraggable={editable}
            nodesConnectable={editable}
            edgesFocusable
            deleteKeyCode={null}
            multiSelectionKeyCode={['Control', 'Meta']}
            selectionKeyCode="Shift"
            onlyRenderVisibleElements={big}
            minZoom={0.05}
            maxZoom={2}
            proOptions={{ hideAttribution: true }}
            aria-label="Workflow canvas"
          >
            <Background gap={20} size={1} />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable ariaLabel="Mini map" nodeStrokeWidth={3} nodeColor={(n) => ((n.data as any)?.errors?.length ? 'var(--danger)' : 'var(--minimap-node)')} />
          </ReactFlow>
          {nodes.length === 0 && (
            <div className="canvas-empty">
              <strong>Drag components here</strong>
              <span>Start with a <em>start</em>, add steps, finish with an <em>end</em>; connect the handles.</span>
            </div>
          )}
        </div>
        <aside className="side-panel" aria-label="Properties">
          {sel ? (
            <NodePanel
              key={sel.id}
              node={sel}
              type={typeMap.get(sel.data.comp.type)}
              problems={selProblems}
              names={names}
              editable={editable}
              breakpoint={breakpoints.has(sel.id)}
              onToggleBreakpoint={() => toggleBreakpoint(sel.id)}
              onConfig={(cfg) => updateComp(sel.id, (c) => ({ ...c, config: cfg }), `cfg-${sel.id}`)}
              onRename={(to) => renameNode(sel.id, to)}
              onDelete={deleteSelection}
            />
          ) : selEdge ? (
            <EdgePanel edge={selEdge} names={names} editable={editable} onChange={(p) => updateEdge(selEdge.id, p)} onDelete={deleteSelection} />
          ) : (
            <div className="panel-section">
              <h2>{selectedNodes.length > 1 ? `${selectedNodes.length} selected` : 'Workflow'}</h2>
              {selectedNodes.length > 1 ? (
                <p className="muted">Ctrl+C copies them as workflow JSON; Delete removes them.</p>
              ) : (
                <p className="muted">Select a component to configure it. Press ? for shortcuts.</p>
              )}
              <h3>Parameters</h3>
              <ParamsEditor
                params={params}
                readOnly={!editable}
                onChange={(p) => {
                  commit('params');
                  setParams(p);
                }}
              />
              <h3>Problems</h3>
              {validation && !errCount && !warnCount && <p className="good small">No problems found.</p>}
              <ul className="problems">
                {validation?.errors.map((p, i) => (
                  <li key={`e${i}`} className="bad">
                    <code>{p.path.replace(/^definition\./, '')}</code> {p.message}
                  </li>
                ))}
                {validation?.warnings.map((p, i) => (
                  <li key={`w${i}`} className="warn">
                    <code>{p.path.replace(/^definition\./, '')}</code> {p.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </aside>
      </div>
      {dialog === 'run' && wf.data && (
        <RunDialog
          workflow={{ ...wf.data, definition }}
          breakpoints={[...breakpoints]}
          onClose={() => setDialog(null)}
          onStarted={(ex) => nav(`/executions/${ex.id}`)}
        />
      )}
      {dialog === 'versions' && wf.data && (
        <Versions
          workflow={wf.data}
          editable={editable}
          onClose={() => setDialog(null)}
          onRestore={(def) => {
            commit();
            const g = toGraph(def);
            setNodes(g.positioned ? g.nodes : quickLayout(g.nodes, g.edges));
            setEdges(g.edges);
            setParams(def.parameters ?? []);
            setDialog(null);
            toast('Version restored into the canvas — save to make it the newest', 'info');
          }}
        />
      )}
      {dialog === 'settings' && (
        <Modal title="Workflow settings" onClose={() => setDialog(null)}>
          <div className="form-grid">
            <label>
              Description
              <textarea value={meta.description} readOnly={!editable} onChange={(e) => { setMeta({ ...meta, description: e.target.value }); setDirty(true); }} />
            </label>
            <label>
              Category
              <input value={meta.category} readOnly={!editable} onChange={(e) => { setMeta({ ...meta, category: e.target.value }); setDirty(true); }} />
            </label>
            <label>
              Tags (comma-separated)
              <input value={meta.tags.join(', ')} readOnly={!editable} onChange={(e) => { setMeta({ ...meta, tags: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) }); setDirty(true); }} />
            </label>
            <label>
              Priority (1–10)
              <input type="number" min={1} max={10} value={meta.priority} readOnly={!editable} onChange={(e) => { setMeta({ ...meta, priority: Number(e.target.value) || 5 }); setDirty(true); }} />
            </label>
          </div>
          <footer className="modal-foot">
            <button className="btn primary" onClick={() => setDialog(null)}>
              Done
            </button>
          </footer>
        </Modal>
      )}
      {dialog === 'leave' && (
        <Modal title="Unsaved changes" onClose={() => setDialog(null)}>
          <p>The workflow has changes that are not saved. Save them before opening its webhooks?</p>
          <footer className="modal-foot">
            <button className="btn" onClick={() => setDialog(null)}>
              Stay here
            </button>
            <button className="btn danger" onClick={() => nav(`/workflows/${id}/webhooks`)}>
              Leave without saving
            </button>
            <button
              className="btn primary"
              disabled={saving}
              onClick={async () => {
                if (await save()) nav(`/workflows/${id}/webhooks`);
              }}
            >
              Save and open webhooks
            </button>
          </footer>
        </Modal>
      )}
      {dialog === 'keys' && (
        <Modal title="Keyboard shortcuts" onClose={() => setDialog(null)}>
          <table className="table compact">
            <tbody>
              {SHORTCUTS.map(([k, v]) => (
                <tr key={k}>
                  <td>
                    <kbd>{k}</kbd>
                  </td>
                  <td>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Modal>
      )}
    </div>
  );
}

function NodePanel({
  node,
  type,
  problems,
  names,
  editable,
  breakpoint,
  onToggleBreakpoint,
  onConfig,
  onRename,
  onDelete,
}: {
  node: FNode;
  type?: ComponentType;
  problems: Map<string, Problem[]>;
  names: Names;
  editable: boolean;
  breakpoint: boolean;
  onToggleBreakpoint: () => void;
  onConfig: (c: Record<string, any>) => void;
  onRename: (to: string) => boolean;
  onDelete: () => void;
}) {
  const c = node.data.comp;
  const [idText, setIdText] = useState(c.id);
  const general = [...(problems.get('_') ?? []), ...[...problems.entries()].filter(([k]) => k !== '_' && !type?.config_schema?.properties?.[k]).flatMap(([, v]) => v)];
  return (
    <div className="panel-section" data-testid="node-panel">
      <div className="panel-head">
        <span className={`pi-icon k-${c.type}`} aria-hidden="true">
          {kindIcon(c.type)}
        </span>
        <div>
          <h2>{c.config?.name || c.id}</h2>
          <p className="muted small">{type?.summary ?? c.type}</p>
        </div>
      </div>
      <div className="row">
        <button className={`btn sm ${breakpoint ? 'bp-on' : ''}`} onClick={onToggleBreakpoint} aria-pressed={breakpoint} data-testid="toggle-breakpoint">
          ● {breakpoint ? 'Breakpoint set' : 'Set breakpoint'}
        </button>
        {editable && (
          <button className="btn sm ghost danger" onClick={onDelete}>
            Delete
          </button>
        )}
      </div>
      <div className="field">
        <label htmlFor="node-id" className="field-label">
          id
        </label>
        <input
          id="node-id"
          value={idText}
          readOnly={!editable}
          onChange={(e) => setIdText(e.target.value.replace(/[^\w-]/g, '_'))}
          onBlur={() => {
            if (!onRename(idText)) setIdText(c.id);
          }}
        />
        <span className="field-help">Used in expressions as steps.{c.id}.output</span>
      </div>
      {general.map((p, i) => (
        <div key={i} className={`field-error ${p.path.startsWith('warn:') ? 'warn' : ''}`} role="alert">
          {p.message}
        </div>
      ))}
      {type ? (
        <SchemaForm schema={type.config_schema} value={c.config ?? {}} onChange={onConfig} problems={problems} names={names} readOnly={!editable} />
      ) : (
        <ErrorBox error={new Error(`Unknown component type ${c.type}`)} />
      )}
    </div>
  );
}

function EdgePanel({ edge, names, editable, onChange, onDelete }: { edge: FEdge; names: Names; editable: boolean; onChange: (p: Record<string, any>) => void; onDelete: () => void }) {
  const c = edge.data!.conn;
  return (
    <div className="panel-section">
      <h2>
        Connection <span className="muted">{c.source} → {c.target}</span>
      </h2>
      <div className="field">
        <label htmlFor="edge-type" className="field-label">
          type
        </label>
        <select id="edge-type" value={c.type ?? 'success'} disabled={!editable} onChange={(e) => onChange({ type: e.target.value, condition: e.target.value === 'condition' ? c.condition ?? '{{ true }}' : undefined })}>
          <option value="success">success — when the source succeeds</option>
          <option value="failure">failure — when it fails after its retries</option>
          <option value="always">always — either way</option>
          <option value="condition">condition — when an expression holds</option>
        </select>
      </div>
      {c.type === 'condition' && (
        <Field name="condition" schema={{ type: 'string', description: 'A {{ expression }}; the edge is taken when it is truthy' }} value={c.condition} onChange={(v) => onChange({ condition: v })} problems={[]} names={names} readOnly={!editable} />
      )}
      <Field name="branch" schema={{ type: 'string', description: 'For edges leaving a condition (true/false) or a switch (a case name)' }} value={c.branch} onChange={(v) => onChange({ branch: v })} problems={[]} names={names} readOnly={!editable} />
      {editable && (
        <button className="btn sm ghost danger" onClick={onDelete}>
          Delete connection
        </button>
      )}
    </div>
  );
}

export default function Designer() {
  const { id } = useParams();
  return (
    <ReactFlowProvider key={id}>
      <DesignerInner />
    </ReactFlowProvider>
  );
}
