// One small generic form renderer for the component config schemas of GET /components:
// enums as selects, booleans as checkboxes, numbers, strings through the expression editor,
// objects and arrays as JSON. Descriptions from the schema; problems shown on their field.
import { lazy, Suspense, useEffect, useState } from 'react';
import type { Problem } from '../lib/api';
import type { Names } from './CodeField';

const CodeField = lazy(() => import('./CodeField'));

const COMMON = new Set(['name', 'description', 'timeout_seconds', 'retry_attempts', 'retry_delay_seconds', 'retry_backoff', 'join', 'input']);

function typeOf(s: any): string | undefined {
  const t = Array.isArray(s?.type) ? s.type.find((x: string) => x !== 'null') : s?.type;
  return t;
}

function JsonField({ value, onChange, label, names, readOnly, invalid }: any) {
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    // An outside change (undo) replaces the text unless it already says the same.
    try {
      const cur = text.trim() ? JSON.parse(text) : undefined;
      if (JSON.stringify(cur) === JSON.stringify(value)) return;
    } catch {
      /* replaced below */
    }
    setText(value === undefined ? '' : JSON.stringify(value, null, 2));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <>
      <CodeField
        mode="json"
        label={label}
        value={text}
        names={names}
        readOnly={readOnly}
        invalid={invalid || bad}
        onChange={(t) => {
          setText(t);
          if (!t.trim()) {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(t));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <span className="field-error">Not valid JSON yet</span>}
    </>
  );
}

function AnyField({ value, onChange, label, names, readOnly, invalid }: any) {
  // Untyped: text; JSON objects, arrays, numbers and booleans when the text is one.
  const asText = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return (
    <CodeField
      mode="expr"
      label={label}
      value={asText}
      names={names}
      readOnly={readOnly}
      invalid={invalid}
      onChange={(t) => {
        if (t === '') return onChange(undefined);
        if (/^\s*[[{]/.test(t) || /^(true|false|-?\d+(\.\d+)?)$/.test(t.trim())) {
          try {
            return onChange(JSON.parse(t));
          } catch {
            /* a string */
          }
        }
        onChange(t);
      }}
    />
  );
}

/**
 * Where inside a field a problem is, when deeper than the field itself (an inline body's
 * `components[1].config.task_type`), with the id of the item it names: `components[1] (echo).config.task_type: `.
 */
function within(p: Problem, name: string, value: any): string {
  const head = /^(?:definition\.)?components\[\d+\]\.config\./.exec(p.path)?.[0] ?? '';
  const rest = head && p.path.startsWith(name, head.length) ? p.path.slice(head.length + name.length) : '';
  if (!/^[[.]/.test(rest)) return '';
  const m = /^\[(\d+)\]/.exec(rest);
  const id = m && Array.isArray(value) && typeof value[Number(m[1])]?.id === 'string' ? value[Number(m[1])].id : null;
  return id ? `${name}${m![0]} (${id})${rest.slice(m![0].length)}: ` : `${name}${rest}: `;
}

export function Field({
  name,
  schema,
  value,
  onChange,
  problems,
  names,
  readOnly,
  required,
}: {
  name: string;
  schema: any;
  value: any;
  onChange: (v: any) => void;
  problems: Problem[];
  names: Names;
  readOnly?: boolean;
  required?: boolean;
}) {
  const t = typeOf(schema);
  const id = `f-${name}`;
  const invalid = problems.length > 0;
  const label = name.replace(/_/g, ' ');
  let control;
  if (schema?.enum) {
    control = (
      <select id={id} value={value ?? ''} disabled={readOnly} aria-invalid={invalid} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}>
        <option value="">{schema.default !== undefined ? `default (${schema.default})` : '—'}</option>
        {schema.enum.map((o: any) => (
          <option key={String(o)} value={o}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (t === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        disabled={readOnly}
        checked={value ?? schema.default ?? false}
        onChange={(e) => onChange(e.target.checked)}
      />
    );
  } else if (t === 'integer' || t === 'number') {
    control = (
      <input
        id={id}
        type="text"
        inputMode="decimal"
        disabled={readOnly}
        aria-invalid={invalid}
        placeholder={schema.default !== undefined ? String(schema.default) : ''}
        value={value ?? ''}
        onChange={(e) => {
          const s = e.target.value;
          if (s === '') return onChange(undefined);
          const n = Number(s);
          onChange(Number.isFinite(n) && !/\{\{/.test(s) ? n : s);
        }}
      />
    );
  } else if (t === 'string') {
    control = (
      <Suspense fallback={<input disabled aria-label={label} />}>
        <AnyField value={value} onChange={(v: any) => onChange(typeof v === 'string' || v === undefined ? v : String(v))} label={name} names={names} readOnly={readOnly} invalid={invalid} />
      </Suspense>
    );
  } else if (t === 'object' || t === 'array') {
    control = (
      <Suspense fallback={<input disabled aria-label={label} />}>
        <JsonField value={value} onChange={onChange} label={name} names={names} readOnly={readOnly} invalid={invalid} />
      </Suspense>
    );
  } else {
    control = (
      <Suspense fallback={<input disabled aria-label={label} />}>
        <AnyField value={value} onChange={onChange} label={name} names={names} readOnly={readOnly} invalid={invalid} />
      </Suspense>
    );
  }
  const isCode = !schema?.enum && t !== 'boolean' && t !== 'integer' && t !== 'number';
  return (
    <div className={`field ${invalid ? 'invalid' : ''} ${t === 'boolean' ? 'inline' : ''}`} data-field={name}>
      {isCode ? (
        <span className="field-label" id={`${id}-l`}>
          {label}
          {required && <span className="req" aria-label="required">*</span>}
        </span>
      ) : (
        <label htmlFor={id} className="field-label">
          {label}
          {required && <span className="req" aria-label="required">*</span>}
        </label>
      )}
      {control}
      {schema?.description && <span className="field-help">{schema.description}</span>}
      {problems.map((p, i) => (
        <span key={i} className={`field-error ${p.path.startsWith('warn:') ? 'warn' : ''}`} role="alert">
          {within(p, name, value)}
          {p.message}
        </span>
      ))}
    </div>
  );
}

export default function SchemaForm({
  schema,
  value,
  onChange,
  problems,
  names,
  readOnly,
}: {
  schema: any;
  value: Record<string, any>;
  onChange: (v: Record<string, any>) => void;
  problems: Map<string, Problem[]>;
  names: Names;
  readOnly?: boolean;
}) {
  const props: Record<string, any> = schema?.properties ?? {};
  const required = new Set<string>(schema?.required ?? []);
  const keys = Object.keys(props);
  const main = keys.filter((k) => !COMMON.has(k)).sort((a, b) => Number(required.has(b)) - Number(required.has(a)));
  const common = keys.filter((k) => COMMON.has(k));
  const set = (k: string, v: any) => {
    const next = { ...value };
    if (v === undefined) delete next[k];
    else next[k] = v;
    onChange(next);
  };
  const render = (k: string) => (
    <Field
      key={k}
      name={k}
      schema={props[k]}
      value={value?.[k]}
      onChange={(v) => set(k, v)}
      problems={problems.get(k) ?? []}
      names={names}
      readOnly={readOnly}
      required={required.has(k)}
    />
  );
  const commonProblems = common.some((k) => problems.has(k));
  return (
    <div className="schema-form">
      {main.map(render)}
      <details open={commonProblems}>
        <summary>Name, retries and timeouts</summary>
        {common.map(render)}
      </details>
    </div>
  );
}
