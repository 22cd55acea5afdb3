/**
 * A confirmation before a money action (issue 9's quality bar): the sentence saying what will happen,
 * then the action's own button and Cancel. Focus moves to the sentence, so a keyboard or screen-reader
 * user hears it before reaching the button; Escape cancels.
 */
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

export function Confirm(props: {
  title: string;
  /** The title's heading level: one below the section the confirmation sits in (default 3). */
  level?: 2 | 3;
  children: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const H = props.level === 2 ? 'h2' : 'h3';
  useLayoutEffect(() => heading.current?.focus(), []);
  return (
    <section
      class="card confirm"
      aria-labelledby="confirm-title"
      onKeyDown={(e) => {
        // Escape backs out, as from a dialog.
        if (e.key === 'Escape' && !props.busy) props.onCancel();
      }}
    >
      <H id="confirm-title" tabIndex={-1} ref={heading}>
        {props.title}
      </H>
      {props.children}
      <div class="row">
        <button type="button" class="primary" disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" disabled={props.busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </section>
  );
}

/**
 * A ref for the button that opens a confirmation: focus goes back to it when the confirmation closes
 * (Cancel), so a keyboard user stays where they were instead of at the top of the page.
 */
export function useFocusAfter(open: boolean) {
  const ref = useRef<HTMLButtonElement>(null);
  const was = useRef(open);
  useLayoutEffect(() => {
    if (was.current && !open) ref.current?.focus();
    was.current = open;
  }, [open]);
  return ref;
}
