import { useState, type FormEvent } from 'react';
import { api, type Execution, type ParameterSpec, type Workflow } from '../lib/api';
import { ErrorBox, Modal } from '../lib/ui';

function parse(p: ParameterSpec, raw: unknown): unknown {
  const t = p.parameter_type ?? 'string';
  if (t === 'boolean') return !!raw;
  const s = String(raw ?? '');
  if (s === '') return undefined;
  if (t === 'integer') {
    if (!/^-?\d+$/.test(s.trim())) throw new Error(`${p.name} must be a whole number`);
    return Number(s);
  }
  if (t === 'float') {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new Error(`${p.name} must be a number`);
    return n;
  }
  if (t === 'list' || t === 'dict') {
    let v;
    try {
      v = JSON.parse(s);
    } catch {
      throw new Error(`${p.name} must be JSON`);
    }
    if (t === 'list' && !Array.isArray(v)) throw new Error(`${p.name} must be a JSON list`);
    if (t === 'dict' && (typeof v !== 'object' || Array.isArray(v) || v === null)) throw new Error(`${p.name} must be a JSON object`);
    return v;
  }
  return s;
}

export default function RunDialog({
  workflow,
  breakpoints = [],
  onClose,
  onStarted,
}: {
  workflow: Workflow;
  breakpoints?: string[];
  onClose: () => void;
  onStarted: (e: Execution) => void;
}) {
  const params = workflow.definition.parameters ?? [];
  const [values, setValues] = useState<Record<string, any>>(() =>
    Object.fromEntries(params.map((p) => [p.name, p.default_value === undefined ? '' : typeof p.default_value === 'object' ? JSON.stringify(p.default_value) : p.default_value])),
  );
  const [priority, setPriority] = useState(workflow.priority ?? 5);
  const [debug, setDebug] = useState(breakpoints.length > 0);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const parameters: Record<string, unknown> = {};
      for (const p of params) {
        const v = parse(p, values[p.name]);
        if (v === undefined) {
          if (p.required !== false && p.default_value === undefined) throw new Error(`${p.name} is required`);
        } else parameters[p.name] = v;
      }
      setBusy(true);
      const ex = await api<Execution>(`workflows/${workflow.id}/execute`, {
        body: { parameters, priority, breakpoints: debug ? breakpoints : [] },
      });
      onStarted(ex);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Run “${workflow.name}”`} onClose={onClose}>
      <form onSubmit={submit} className="form-grid" aria-label="Run parameters">
        {params.length === 0 && <p className="muted">This workflow declares no parameters.</p>}
        {params.map((p) => {
          const t = p.parameter_type ?? 'string';
          const id = `run-${p.name}`;
          const req = p.required !== false && p.default_value === undefined;
          return (
            <div className="field" key={p.name}>
              <label htmlFor={id} className="field-label">
                {p.name}
                {req && <span className="req" aria-label="required">*</span>}
                <span className="type-chip">{t}</span>
              </label>
              {t === 'boolean' ? (
                <input id={id} type="checkbox" checked={!!values[p.name]} onChange={(e) => setValues({ ...values, [p.name]: e.target.checked })} />
              ) : t === 'list' || t === 'dict' ? (
                <textarea id={id} value={values[p.name]} placeholder={t === 'list' ? '[1, 2, 3]' : '{"key": "value"}'} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })} />
              ) : (
                <input
                  id={id}
                  type={t === 'integer' || t === 'float' ? 'number' : 'text'}
                  step={t === 'float' ? 'any' : undefined}
                  required={req}
                  value={values[p.name]}
                  onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
                />
              )}
              {p.description && <span className="field-help">{p.description}</span>}
            </div>
          );
        })}
        <div className="field">
          <label htmlFor="run-priority" className="field-label">
            Priority <span className="muted small">(10 is the most urgent)</span>
          </label>
          <input id="run-priority" type="range" min={1} max={10} value={priority} onChange={(e) => setPriority(Number(e.target.value))} />
          <span className="small">{priority}</span>
        </div>
        {breakpoints.length > 0 && (
          <label className="inline">
            <input type="checkbox" checked={debug} onChange={(e) => setDebug(e.target.checked)} /> Debug: pause at {breakpoints.join(', ')}
          </label>
        )}
        <ErrorBox error={error} title="Could not start" />
        <footer className="modal-foot">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy} data-testid="start-run">
            {busy ? 'Starting…' : '▶ Start run'}
          </button>
        </footer>
      </form>
    </Modal>
  );
}
