/**
 * What every console page shares: the API with the operator's token, the currency unit, and `say`,
 * which turns any error into the sentence to show (and signs out on a wrong token), plus `useLoad`,
 * the pages' one way to read something and show it, its error, or that it is loading.
 */
import { createContext } from 'preact';
import { useCallback, useContext, useMemo, useState } from 'preact/hooks';
import { useAsync } from '../ui/use-async.js';
import type { OperatorApi } from './api.js';

export interface Console {
  api: OperatorApi;
  unit: string;
  /** The error in one sentence; a wrong token also signs out (the sign-in page then says why). */
  say(e: unknown): string;
}

export const ConsoleContext = createContext<Console | null>(null);

export function useConsole(): Console {
  const c = useContext(ConsoleContext);
  if (c === null) throw new Error('useConsole outside the console');
  return c;
}

export interface Loaded<T> {
  value: T | undefined;
  /** The error as the sentence to show. */
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** `useAsync` of `load(console)`, read again on `reload()`, its error in words (`say`). */
export function useLoad<T>(load: (c: Console) => Promise<T>, deps: readonly unknown[] = []): Loaded<T> {
  const c = useConsole();
  const [round, setRound] = useState(0);
  const state = useAsync(() => load(c), [c, round, ...deps]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const error = useMemo(() => (state?.error === undefined ? undefined : c.say(state.error)), [state, c]);
  return { value: state?.value, error, loading: state === undefined, reload };
}
