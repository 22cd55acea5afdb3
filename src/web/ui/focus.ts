/**
 * Moves the focus to a step's `[data-focus]` element (with `tabIndex={-1}`) when a multi-step form
 * moves on, so a keyboard or screen-reader user lands on what changed (a confirmation, an outcome)
 * instead of on a button that is gone.
 */
import { useEffect, useRef } from 'preact/hooks';

export function useStepFocus<T extends HTMLElement>(step: unknown) {
  const ref = useRef<T>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    ref.current?.querySelector<HTMLElement>('[data-focus]')?.focus();
  }, [step]);
  return ref;
}
