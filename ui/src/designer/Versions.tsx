import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, type Definition, type Workflow } from '../lib/api';
import { ago } from '../lib/format';
import { ErrorBox, Modal, Spinner } from '../lib/ui';

interface Version {
  version: number;
  definition: Definition;
  created_at?: string;
  saved_by?: string;
  [k: string]: any;
}

/** A line diff (LCS; the texts are pretty-printed JSON of a few hundred lines). */
function diffLines(a: string[], b: string[]) {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [{ t: '~', s: 'Too large to diff line by line.' }];
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: { t: string; s: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ t: ' ', s: a[i] });
      i++;
      j++;
    } else if (dp[i + 1][j] >= dp[i][j + 1]) out.push({ t: '-', s: a[i++] });
    else out.push({ t: '+', s: b[j++] });
  }
  while (i < n) out.push({ t: '-', s: a[i++] });
  while (j < m) out.push({ t: '+', s: b[j++] });
  return out;
}

const strip = (d: Definition) => ({ ...d, components: d.components.map(({ position: _p, ...c }) => c) });

export default function Versions({ workflow, editable, onClose, onRestore }: { workflow: Workflow; editable: boolean; onClose: () => void; onRestore: (d: Definition) => void }) {
  const q = useQuery({ queryKey: ['versions', workflow.id], queryFn: () => api<Version[]>(`workflows/${workflow.id}/versions`) });
  const list = useMemo(() => [...(q.data ?? [])].sort((a, b) => b.version - a.version), [q.data]);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const va = list.find((v) => v.version === (a ?? list[1]?.version));
  const vb = list.find((v) => v.version === (b ?? list[0]?.version));
  const diff = useMemo(() => {
    if (!va || !vb) return [];
    return diffLines(JSON.stringify(strip(va.definition), null, 2).split('\n'), JSON.stringify(strip(vb.definition), null, 2).split('\n'));
  }, [va, vb]);
  const changed = diff.filter((d) => d.t !== ' ').length;
  return (
    <Modal title="Version history" onClose={onClose} wide>
      {q.isLoading && <Spinner />}
      <ErrorBox error={q.error} />
      <div className="versions">
        <ul className="version-list">
          {list.map((v) => (
            <li key={v.version}>
              <strong>v{v.version}</strong> <span className="muted small">{ago(v.created_at)}</span>
              <div className="row">
                <button className="btn sm ghost" onClick={() => setA(v.version)} aria-pressed={va?.version === v.version}>
                  From
                </button>
                <button className="btn sm ghost" onClick={() => setB(v.version)} aria-pressed={vb?.version === v.version}>
                  To
                </button>
                {editable && (
                  <button className="btn sm" onClick={() => onRestore(v.definition)}>
                    Restore
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
        <div className="diff" aria-label="Differences">
          {va && vb ? (
            <>
              <p className="muted small">
                v{va.version} → v{vb.version}: {changed ? `${changed} changed lines` : 'no differences (positions ignored)'}
              </p>
              <pre>
                {diff.map((d, i) =>
                  d.t === ' ' ? null : (
                    <div key={i} className={d.t === '+' ? 'add' : 'del'}>
                      {d.t} {d.s}
                    </div>
                  ),
                )}
              </pre>
            </>
          ) : (
            <p className="muted">Only one version so far.</p>
          )}
        </div>
      </div>
    </Modal>
  );
}
