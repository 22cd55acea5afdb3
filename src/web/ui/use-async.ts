/** An async read as state: `{ value }`, `{ error }` or loading; read again when `deps` change. */
import { useEffect, useState } from 'preact/hooks';

export type Loaded<T> = { value: T; error?: undefined } | { value?: undefined; error: unknown } | undefined;

export function useAsync<T>(fn: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(undefined);
  useEffect(() => {
    let live = true;
    fn().then(
      (value) => live && setState({ value }),
      (error: unknown) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}
