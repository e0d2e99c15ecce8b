import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { navigate } from '../router.ts';

/** An in-app link: a real `<a href>` (open in a new tab works) that navigates without a reload. */
export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }): JSX.Element {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** A status line: errors are announced (role=alert), the rest politely (role=status). */
export function Notice(props: { error?: string | undefined; info?: string | undefined }): JSX.Element | null {
  if (props.error) return <p role="alert" class="notice error">{props.error}</p>;
  if (props.info) return <p role="status" class="notice info">{props.info}</p>;
  return null;
}

/**
 * Cursor paging of an API list (`?cursor=`, the answer's `next`): the cursor of the page shown and
 * the stack of those before it, for Previous. `reset` goes back to the first page (a new filter).
 */
export interface Cursor {
  readonly cursor: string | undefined;
  readonly hasPrev: boolean;
  next(next: string | undefined): void;
  prev(): void;
  reset(): void;
}

export function useCursor(): Cursor {
  const [stack, setStack] = useState<ReadonlyArray<string | undefined>>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  return {
    cursor,
    hasPrev: stack.length > 0,
    next(next) {
      if (next === undefined) return;
      setStack([...stack, cursor]);
      setCursor(next);
    },
    prev() {
      setCursor(stack[stack.length - 1]);
      setStack(stack.slice(0, -1));
    },
    reset() {
      setStack([]);
      setCursor(undefined);
    },
  };
}

/** Previous / next page buttons over a {@link Cursor}; `next` is the answer's. */
export function Pager(props: { label: string; pages: Cursor; next: string | undefined; summary?: string | undefined }): JSX.Element {
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" disabled={!props.pages.hasPrev} onClick={() => props.pages.prev()}>
        Previous page
      </button>
      <button type="button" disabled={props.next === undefined} onClick={() => props.pages.next(props.next)}>
        Next page
      </button>
      {props.summary !== undefined && <span class="muted">{props.summary}</span>}
    </nav>
  );
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function fmtBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${UNITS[i]}`;
}

export function fmtNum(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

export function fmtTime(ms: number | undefined): string {
  if (ms === undefined || ms === 0) return '-';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '-' : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${r}s` : m > 0 ? `${m}m ${r}s` : `${r}s`;
}

/** `queue:orders` from a destination. */
export function fmtDest(d: { type: string; name: string } | undefined): string {
  return d === undefined ? '-' : `${d.type}:${d.name}`;
}

/** Statistics as cards: a term and its value each (`<dl>`, so a screen reader reads the pairs). */
export function StatCards(props: { label?: string; items: ReadonlyArray<readonly [string, string]> }): JSX.Element {
  return (
    <dl class="cards" aria-label={props.label}>
      {props.items.map(([term, value]) => (
        <div key={term} class="card stat">
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
