/** A message box: what happened (ok), what went wrong and what to do next (bad), or plain news. */
import type { ComponentChildren } from 'preact';
import { explainError } from './messages.js';

export function Message({ kind, children }: { kind: 'ok' | 'bad' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`message ${kind === 'info' ? '' : kind}`} role={kind === 'bad' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** An error in plain words: what happened, then what to do next. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { what, next } = explainError(error);
  return (
    <Message kind="bad">
      <p>{what}</p>
      <p>{next}</p>
    </Message>
  );
}
