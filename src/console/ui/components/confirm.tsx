import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Ask {
  readonly title: string;
  readonly body?: ComponentChildren;
  /** The confirming button's text (`Delete queue`, `Close connection`). */
  readonly confirm: string;
  readonly danger?: boolean;
  readonly resolve: (ok: boolean) => void;
}

/**
 * A modal confirmation (role=dialog, focus on Cancel, Escape cancels) for destructive operations:
 * `const [dialog, ask] = useConfirm(); if (await ask({...})) ...`, rendering `dialog`.
 */
export function useConfirm(): [JSX.Element | null, (opts: Omit<Ask, 'resolve'>) => Promise<boolean>] {
  const [ask, setAsk] = useState<Ask | undefined>(undefined);
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (ask !== undefined) cancelRef.current?.focus();
  }, [ask]);
  const done = (ok: boolean): void => {
    ask?.resolve(ok);
    setAsk(undefined);
  };
  const element =
    ask === undefined ? null : (
      <div class="backdrop">
        <div
          role="dialog"
          aria-modal="true"
          aria-labelledby="confirm-title"
          class="dialog"
          onKeyDown={(e) => {
            if (e.key === 'Escape') done(false);
          }}
        >
          <h2 id="confirm-title">{ask.title}</h2>
          {ask.body !== undefined && <div class="dialog-body">{ask.body}</div>}
          <div class="actions">
            <button type="button" ref={cancelRef} onClick={() => done(false)}>
              Cancel
            </button>
            <button type="button" class={ask.danger === false ? 'primary' : 'danger'} onClick={() => done(true)}>
              {ask.confirm}
            </button>
          </div>
        </div>
      </div>
    );
  return [element, (opts) => new Promise<boolean>((resolve) => setAsk({ ...opts, resolve }))];
}
