// CodeMirror 6 for JSON and {{ }} expressions, with completion of what an expression can name.
import { useEffect, useRef } from 'react';
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, placeholder as cmPlaceholder } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, closeBrackets, type CompletionContext } from '@codemirror/autocomplete';
import { json } from '@codemirror/lang-json';
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, HighlightStyle } from '@codemirror/language';

export interface Names {
  params: string[];
  steps: string[];
  credentials: string[];
}

function completions(names: () => Names) {
  return (ctx: CompletionContext) => {
    const before = ctx.state.sliceDoc(0, ctx.pos);
    const open = before.lastIndexOf('{{');
    if (open < 0 || before.lastIndexOf('}}') > open) return null;
    const word = ctx.matchBefore(/[\w.]*/);
    if (!word) return null;
    const n = names();
    const options = [
      ...n.params.map((p) => ({ label: p, type: 'variable', detail: 'parameter' })),
      ...n.params.map((p) => ({ label: `params.${p}`, type: 'variable', detail: 'parameter' })),
      ...n.steps.map((s) => ({ label: `steps.${s}.output`, type: 'property', detail: 'step output' })),
      { label: 'vars', type: 'namespace', detail: 'workflow variables' },
      { label: 'input', type: 'namespace', detail: "this step's input" },
      { label: 'execution.id', type: 'constant', detail: 'execution' },
      ...n.credentials.map((c) => ({ label: `secrets.${c}`, type: 'keyword', detail: 'credential' })),
    ];
    return { from: word.from, options, validFor: /^[\w.]*$/ };
  };
}

// The default highlighting, each colour a CSS variable that the dark theme sets lighter (../styles.css).
const highlight = HighlightStyle.define(
  defaultHighlightStyle.specs.map((s) => (typeof s.color === 'string' && /^#[0-9a-f]+$/i.test(s.color) ? { ...s, color: `var(--cm-${s.color.slice(1)}, ${s.color})` } : s)),
);

const theme = EditorView.theme({
  '&': { fontSize: '13px', background: 'var(--input-bg)', color: 'var(--text)', borderRadius: '8px' },
  '&.cm-focused': { outline: '2px solid var(--accent)' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '6px 4px', caretColor: 'var(--text)' },
  '.cm-scroller': { maxHeight: '260px' },
  '.cm-tooltip-autocomplete': { background: 'var(--panel)', border: '1px solid var(--border)' },
});

export default function CodeField({
  value,
  onChange,
  label,
  mode,
  names,
  readOnly,
  invalid,
  placeholder,
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  mode: 'json' | 'expr';
  names: Names;
  readOnly?: boolean;
  invalid?: boolean;
  placeholder?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const cb = useRef(onChange);
  cb.current = onChange;
  const namesRef = useRef(names);
  namesRef.current = names;
  const ro = useRef(new Compartment());
  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          closeBrackets(),
          bracketMatching(),
          syntaxHighlighting(highlight, { fallback: true }),
          autocompletion({ override: [completions(() => namesRef.current)], activateOnTyping: true }),
          mode === 'json' ? json() : [],
          EditorView.lineWrapping,
          theme,
          placeholder ? cmPlaceholder(placeholder) : [],
          // Focusable read-only too: a long value (a for_each's inline body) scrolls, by keyboard as well.
          EditorView.contentAttributes.of({ 'aria-label': label, tabindex: '0' }),
          ro.current.of(EditorState.readOnly.of(!!readOnly)),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mode, label]);
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value && !v.hasFocus) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);
  useEffect(() => {
    view.current?.dispatch({ effects: ro.current.reconfigure(EditorState.readOnly.of(!!readOnly)) });
  }, [readOnly]);
  return <div className={`code-field ${invalid ? 'invalid' : ''}`} ref={host} data-testid={`field-${label}`} />;
}
