/** Hash routes (`#/send`): the current route as state, so pages need no server fallback. */
import { useEffect, useState } from 'preact/hooks';

/** The route of `location.hash`: `#/send` → `/send`; empty → `/`. */
export function routeOf(hash: string): string {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  return path === '' ? '/' : path.startsWith('/') ? path : `/${path}`;
}

export function useHashRoute(): string {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', on);
    // Read again once listening: preact runs effects after the next frame, and a hash changed between
    // the first render and now fired its event to no one. Missed, the page stayed on the old route for
    // good while the address named the new one (setting the same hash again fires nothing).
    on();
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(route: string): void {
  location.hash = `#${route}`;
}
