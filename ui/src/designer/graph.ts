// A definition as React Flow nodes and edges, and back; validation paths mapped to nodes.
import { MarkerType, type Edge, type Node } from '@xyflow/react';
import type { ComponentDef, Connection, Definition, Problem } from '../lib/api';

export interface NodeData extends Record<string, unknown> {
  comp: ComponentDef;
  errors?: Problem[];
  warnings?: Problem[];
  status?: string;
  duration?: number | null;
  attempt?: number;
  breakpoint?: boolean;
  paused?: boolean;
  summary?: string;
  /** A sub_workflow's or for_each's children: how many have ended of how many. */
  progress?: { total: number; ended: number; completed: number; failed: number; running: number };
}
export type FNode = Node<NodeData>;
export type FEdge = Edge<{ conn: Connection }>;

const EDGE_COLOR: Record<string, string> = {
  success: 'var(--edge-success)',
  failure: 'var(--edge-failure)',
  always: 'var(--edge-always)',
  condition: 'var(--edge-condition)',
};

export function edgeLabel(c: Connection) {
  const t = c.type ?? 'success';
  if (t === 'condition') return c.condition ? `if ${c.condition.replace(/^\{\{\s*|\s*\}\}$/g, '')}` : 'condition';
  if (c.branch) return c.branch;
  return t;
}

export function toEdge(c: Connection, i: number): FEdge {
  const t = c.type ?? 'success';
  const color = EDGE_COLOR[t] ?? EDGE_COLOR.success;
  return {
    id: `e${i}-${c.source}-${c.target}`,
    source: c.source,
    target: c.target,
    data: { conn: c },
    label: edgeLabel(c),
    className: `edge-${t}`,
    style: {
      stroke: color,
      strokeWidth: 2,
      strokeDasharray: t === 'failure' ? '6 4' : t === 'always' ? '2 4' : t === 'condition' ? '10 3 2 3' : undefined,
    },
    labelStyle: { fill: color, fontWeight: 600, fontSize: 11 },
    labelBgStyle: { fill: 'var(--panel)' },
    labelBgPadding: [4, 2],
    labelBgBorderRadius: 4,
    markerEnd: { type: MarkerType.ArrowClosed, color, width: 16, height: 16 },
  };
}

export function toGraph(def: Definition): { nodes: FNode[]; edges: FEdge[]; positioned: boolean } {
  let positioned = true;
  const nodes: FNode[] = def.components.map((c, i) => {
    if (!c.position) positioned = false;
    return {
      id: c.id,
      type: 'apg',
      position: c.position ? { x: c.position.x, y: c.position.y } : { x: (i % 10) * 240, y: Math.floor(i / 10) * 110 },
      data: { comp: c },
    };
  });
  return { nodes, edges: def.connections.map(toEdge), positioned };
}

export function toDefinition(nodes: FNode[], edges: FEdge[], base: Partial<Definition>): Definition {
  return {
    ...base,
    components: nodes.map((n) => ({
      ...n.data.comp,
      id: n.id,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    })),
    connections: edges.map((e) => ({ ...(e.data?.conn ?? {}), source: e.source, target: e.target })),
  };
}

/** `definition.components[3].config.url` → { index: 3, field: 'url' }. */
export function parsePath(path: string): { kind: 'component' | 'connection' | 'parameter' | 'other'; index: number; field?: string } {
  const m = path.match(/^(?:definition\.)?(components|connections|parameters)\[(\d+)\](?:\.config)?(?:\.([\w-]+))?/);
  if (!m) return { kind: 'other', index: -1 };
  const kind = m[1] === 'components' ? 'component' : m[1] === 'connections' ? 'connection' : 'parameter';
  return { kind, index: Number(m[2]), field: m[3] };
}

/** Problems grouped by component id (and by field). */
export function problemsByNode(def: Definition, problems: Problem[]) {
  const out = new Map<string, Problem[]>();
  for (const p of problems) {
    const at = parsePath(p.path);
    let id: string | undefined;
    if (at.kind === 'component') id = def.components[at.index]?.id;
    else if (at.kind === 'connection') id = def.connections[at.index]?.target;
    if (!id) {
      // Messages naming a component (cycles, unreachable): attach by the quoted id.
      const named = def.components.find((c) => p.message.includes(`'${c.id}'`) || p.message.includes(`"${c.id}"`));
      id = named?.id;
    }
    if (id) out.set(id, [...(out.get(id) ?? []), p]);
  }
  return out;
}

export function fieldOf(p: Problem) {
  return parsePath(p.path).field;
}
