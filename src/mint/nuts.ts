/**
 * What a mint's NUT-06 `/v1/info` promises, as routes: each advertised NUT's endpoints (NUT-04/05 per
 * method, NUT-17's WebSocket, NUT-19's cached endpoints), and which served routes are Cashu's at all.
 * The `/v1/info` truth test of both mints checks the info against the routes a server registers with
 * these, so an advertised NUT without its routes, or a Cashu route no advertised NUT names, fails it.
 * Also the NUT-06 entries both mints share (`engineNuts`), so the two infos are built from one place.
 */

/** A route as `METHOD /path`, path parameters written `{name}` (OpenAPI's form). */
export type Route = string;

/** The routes each NUT serves by itself (NUTs not listed here only change other NUTs' answers). */
const FIXED_ROUTES: Readonly<Record<string, readonly Route[]>> = {
  '1': ['GET /v1/keys', 'GET /v1/keys/{keyset_id}'],
  '2': ['GET /v1/keysets'],
  '3': ['POST /v1/swap'],
  '6': ['GET /v1/info'],
  '7': ['POST /v1/checkstate'],
  '9': ['POST /v1/restore'],
  '17': ['GET /v1/ws'],
};

/** NUTs every mint serves and NUT-06 does not list (NUT-00 to 03 and 06 are mandatory). */
export const MANDATORY_NUTS = ['1', '2', '3', '6'] as const;

/** Path prefixes of the Cashu protocol (everything else under `/v1/` is lancash's own). */
const CASHU_PATHS = [
  /^\/v1\/(info|keys|keysets|swap|checkstate|restore|ws)(\/|$)/,
  /^\/v1\/(mint|melt)\//,
  /^\/v1\/auth\//,
];

export function isCashuRoute(route: Route): boolean {
  const path = route.slice(route.indexOf(' ') + 1);
  return CASHU_PATHS.some((re) => re.test(path));
}

function methodsOf(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const e = entry as { methods?: unknown; disabled?: unknown };
  if (e.disabled === true || !Array.isArray(e.methods)) return [];
  return e.methods.flatMap((m: unknown) =>
    typeof m === 'object' && m !== null && typeof (m as { method?: unknown }).method === 'string'
      ? [(m as { method: string }).method]
      : [],
  );
}

/**
 * The routes an info's `nuts` (plus the mandatory NUTs) promise, each with the NUT that promises it.
 * NUT-19's cached endpoints must be routes some NUT serves; they are returned as promised by 19.
 */
export function promisedRoutes(nuts: Readonly<Record<string, unknown>>): Map<Route, string> {
  const out = new Map<Route, string>();
  const promise = (route: Route, nut: string) => {
    if (!out.has(route)) out.set(route, nut);
  };
  for (const nut of [...MANDATORY_NUTS, ...Object.keys(nuts)]) {
    for (const r of FIXED_ROUTES[nut] ?? []) promise(r, nut);
  }
  // NUT-04/05: a quote route, its state route and the operation route per method.
  for (const [nut, op] of [
    ['4', 'mint'],
    ['5', 'melt'],
  ] as const) {
    for (const method of methodsOf(nuts[nut])) {
      promise(`POST /v1/${op}/quote/${method}`, nut);
      promise(`GET /v1/${op}/quote/${method}/{quote_id}`, nut);
      promise(`POST /v1/${op}/${method}`, nut);
    }
  }
  return out;
}

/** NUT-19's cached endpoints as routes (`POST /v1/swap`), from its settings. */
export function cachedRoutes(nuts: Readonly<Record<string, unknown>>): Route[] {
  const e = nuts['19'] as { cached_endpoints?: { method: string; path: string }[] } | undefined;
  return (e?.cached_endpoints ?? []).map((c) => `${c.method} ${c.path}`);
}

/**
 * NUT-19 settings for endpoints that answer an identical replay with the identical body. `ttl: null`
 * (cached indefinitely): the answers come from the rows a request wrote, which the mint keeps.
 */
export function nut19(routes: readonly Route[]): {
  ttl: null;
  cached_endpoints: { method: string; path: string }[];
} {
  return {
    ttl: null,
    cached_endpoints: routes.map((r) => {
      const [method, path] = r.split(' ') as [string, string];
      return { method, path };
    }),
  };
}

/** The swap answers a replay from the database (`Mint.swap`), on both mints. */
export const SWAP_CACHED: Route = 'POST /v1/swap';

/** NUT-04/05 on a mint that serves no such method (NUT-06 `disabled`). */
export const NO_MINT_OR_MELT = {
  '4': { methods: [], disabled: true },
  '5': { methods: [], disabled: true },
} as const;

/**
 * The NUT-06 entries of what every server with `registerMintRoutes` serves through the engine, the
 * same on both mints: checkstate, restore, spending conditions, DLEQ proofs, and NUT-19 for the swap
 * plus the server's other `cached` routes. Each mint's info adds what only it registers.
 */
export function engineNuts(cached: readonly Route[] = []): Record<string, object> {
  return {
    '7': { supported: true },
    '9': { supported: true },
    '10': { supported: true },
    '11': { supported: true },
    '12': { supported: true },
    '14': { supported: true },
    '19': nut19([SWAP_CACHED, ...cached]),
  };
}
