// Auto-layout with ELK, loaded on first use (its bundle is large).
import type { FEdge, FNode } from './graph';

let elkPromise: Promise<any> | null = null;
function elk() {
  elkPromise ??= import('elkjs/lib/elk.bundled.js').then((m: any) => new (m.default ?? m)());
  return elkPromise;
}

export async function autoLayout(nodes: FNode[], edges: FEdge[]): Promise<FNode[]> {
  const e = await elk();
  const big = nodes.length > 300;
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': big ? '20' : '36',
      'elk.layered.nodePlacement.strategy': big ? 'SIMPLE' : 'NETWORK_SIMPLEX',
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      ...(big ? { 'elk.layered.thoroughness': '1' } : {}),
    },
    children: nodes.map((n) => ({ id: n.id, width: 200, height: 56 })),
    edges: edges
      .filter((x) => nodes.some((n) => n.id === x.source) || true)
      .map((x) => ({ id: x.id, sources: [x.source], targets: [x.target] })),
  };
  const out = await e.layout(graph);
  const pos = new Map<string, { x: number; y: number }>(out.children.map((c: any) => [c.id, { x: c.x, y: c.y }]));
  return nodes.map((n) => ({ ...n, position: pos.get(n.id) ?? n.position }));
}

/** A fast layered layout for very large graphs (longest path from the roots, wrapped columns). */
export function quickLayout(nodes: FNode[], edges: FEdge[]): FNode[] {
  const incoming = new Map<string, string[]>();
  for (const e of edges) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const d = (id: string): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const v = Math.max(-1, ...(incoming.get(id) ?? []).map(d)) + 1;
    visiting.delete(id);
    depth.set(id, v);
    return v;
  };
  const layers = new Map<number, FNode[]>();
  for (const n of nodes) {
    const k = d(n.id);
    layers.set(k, [...(layers.get(k) ?? []), n]);
  }
  const per = 25;
  const pos = new Map<string, { x: number; y: number }>();
  let x = 0;
  for (const k of [...layers.keys()].sort((a, b) => a - b)) {
    const l = layers.get(k)!;
    const cols = Math.ceil(l.length / per);
    const rows = Math.min(per, l.length);
    l.forEach((n, i) => pos.set(n.id, { x: x + Math.floor(i / per) * 240, y: (i % per) * 76 - (rows * 76) / 2 }));
    x += cols * 240 + 40;
  }
  return nodes.map((n) => ({ ...n, position: pos.get(n.id) ?? n.position }));
}
