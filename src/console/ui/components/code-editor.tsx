import type { JSX, RefObject } from 'preact';
import { useRef, useState } from 'preact/hooks';

/** Must match `.editor` line-height in style.css: the marks and the gutter are placed by it. */
const LINE = 20;

/**
 * A plain textarea with line numbers and marked lines (validation errors): the gutter and the
 * marks scroll with the text. Enough for route definitions; no editor library.
 */
export function CodeEditor(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  /** Line (1-based) -> message. */
  marks: ReadonlyMap<number, string>;
  textRef?: RefObject<HTMLTextAreaElement>;
}): JSX.Element {
  const [scroll, setScroll] = useState({ top: 0, left: 0 });
  const own = useRef<HTMLTextAreaElement>(null);
  const ref = props.textRef ?? own;
  const lines = props.value.split('\n').length;
  return (
    <div class="editor">
      <div class="gutter" aria-hidden="true" style={{ transform: `translateY(${-scroll.top}px)` }}>
        {Array.from({ length: lines }, (_, i) => (
          <div key={i} class={props.marks.has(i + 1) ? 'bad' : ''} title={props.marks.get(i + 1)}>
            {i + 1}
          </div>
        ))}
      </div>
      <div class="code">
        <div class="marks" aria-hidden="true" style={{ transform: `translateY(${-scroll.top}px)` }}>
          {[...props.marks.keys()].map((l) => (
            <div key={l} class="mark" style={{ top: `${(l - 1) * LINE + 8}px` }} />
          ))}
        </div>
        <textarea
          ref={ref}
          aria-label={props.label}
          spellcheck={false}
          autocomplete="off"
          wrap="off"
          value={props.value}
          onInput={(e) => props.onInput(e.currentTarget.value)}
          onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, left: e.currentTarget.scrollLeft })}
        />
      </div>
    </div>
  );
}

/** Puts the caret at the start of `line` and scrolls it into view. */
export function gotoLine(t: HTMLTextAreaElement, line: number): void {
  const lines = t.value.split('\n');
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i]!.length + 1;
  t.focus();
  t.setSelectionRange(at, at);
  t.scrollTop = Math.max(0, (line - 3) * LINE);
}
