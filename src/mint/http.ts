/**
 * The Cashu mint endpoints (NUT-01/02/03/06/07/09) over a `Mint`, shared by the wide bank and the
 * gateway's local mint. Controller only: schemas check the shapes, the `Mint` does the work, and
 * the handlers shape the answers the way Cashu wallets (cashu-ts) read them.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { bytesToHex } from '../core/bytes.js';
import type { MintKeyset } from '../core/crypto/keyset.js';
import { fail } from '../core/errors.js';
import { type LancashServer, WireErrorSchema } from '../core/http/server.js';
import {
  BlankMessage,
  BlindedMessage,
  BlindSignature,
  Keys,
  KeysetId,
  PointHex,
  Proof,
} from '../core/protocol/cashu.js';
import type { Mint } from './mint.js';

export interface MintRoutesOptions {
  mint: Mint;
  /** The NUT-06 `GET /v1/info` body; built by the role (name, pubkey, nuts, …). */
  info: () => object;
}

/**
 * Bytes a request may spend per list entry, generous for compact JSON: a proof with a 1 KiB secret
 * and a DLEQ proof, a blinded message, a `Y`. Bodies are bounded by these times `mint.limits`.
 */
export const BYTES_PER_INPUT = 2560;
export const BYTES_PER_OUTPUT = 320;
const BYTES_PER_Y = 96;
export const BYTES_OVERHEAD = 1024;

/** A Cashu unit (`eur`, `sat`). */
export const Unit = Type.String({ minLength: 1, maxLength: 32 });
const FeePpk = Type.Integer({ minimum: 0 });

/** NUT-01 keys of one keyset; `active` and `input_fee_ppk` as cashu-ts' `MintKeys` reads them. */
const KeysetKeys = Type.Object({
  id: KeysetId,
  unit: Unit,
  active: Type.Boolean(),
  input_fee_ppk: FeePpk,
  keys: Keys,
});
const KeysResponse = Type.Object({ keysets: Type.Array(KeysetKeys) });
/** NUT-02 keyset entry. */
const KeysetEntry = Type.Object({ id: KeysetId, unit: Unit, active: Type.Boolean(), input_fee_ppk: FeePpk });
const KeysetsResponse = Type.Object({ keysets: Type.Array(KeysetEntry) });
const KeysetParams = Type.Object({ keyset_id: Type.String({ minLength: 1, maxLength: 128 }) });

/** NUT-06: the role decides the content; the fields wallets read first are named for the document. */
const InfoResponse = Type.Object(
  {
    name: Type.Optional(Type.String()),
    pubkey: Type.Optional(Type.String()),
    version: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    nuts: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);

const SwapResponse = Type.Object({ signatures: Type.Array(BlindSignature) });
/** NUT-07 states. */
const ProofState = Type.Object({
  Y: PointHex,
  state: Type.Union([Type.Literal('UNSPENT'), Type.Literal('PENDING'), Type.Literal('SPENT')]),
  witness: Type.Union([Type.String(), Type.Null()]),
});
const CheckStateResponse = Type.Object({ states: Type.Array(ProofState) });
const RestoreResponse = Type.Object({
  outputs: Type.Array(BlindedMessage),
  signatures: Type.Array(BlindSignature),
});

/** Adds the mint endpoints to a server built by `createServer`. */
export function registerMintRoutes(app: LancashServer, o: MintRoutesOptions): void {
  const { mint } = o;
  const { maxInputs, maxOutputs } = mint.limits;
  const inputs = Type.Array(Proof, { maxItems: maxInputs });
  const outputs = Type.Array(BlindedMessage, { maxItems: maxOutputs });
  const SwapRequest = Type.Object({ inputs, outputs });
  const CheckStateRequest = Type.Object({ Ys: Type.Array(PointHex, { maxItems: maxInputs }) });
  // NUT-09: wallets do not know the amounts they are restoring (cashu-ts sends 0).
  const RestoreRequest = Type.Object({ outputs: Type.Array(BlankMessage, { maxItems: maxOutputs }) });

  app.get(
    '/v1/info',
    { schema: { summary: 'NUT-06 mint information', response: { 200: InfoResponse } } },
    async () => o.info(),
  );

  app.get(
    '/v1/keys',
    { schema: { summary: 'NUT-01 keys of the active keysets', response: { 200: KeysResponse } } },
    async (): Promise<Static<typeof KeysResponse>> => {
      await mint.keysets.fresh();
      return {
        keysets: mint.keysets
          .all()
          .filter((ks) => ks.active)
          .map(keysOf),
      };
    },
  );

  app.get(
    '/v1/keys/:keyset_id',
    {
      schema: routeSchema('NUT-02 keys of any known keyset (12001 when unknown)', KeysResponse, {
        params: KeysetParams,
      }),
    },
    async (req): Promise<Static<typeof KeysResponse>> => {
      await mint.keysets.fresh([req.params.keyset_id]);
      return { keysets: [keysOf(mint.keysets.get(req.params.keyset_id))] };
    },
  );

  app.get(
    '/v1/keysets',
    { schema: { summary: 'NUT-02 every keyset, active or not', response: { 200: KeysetsResponse } } },
    async (): Promise<Static<typeof KeysetsResponse>> => {
      // NUT-02: `active: false` for rotated keysets (still redeemed until retired, never signed with).
      await mint.keysets.fresh();
      return {
        keysets: mint.keysets
          .all()
          .map((ks) => ({ id: ks.id, unit: ks.unit, active: ks.active, input_fee_ppk: ks.inputFeePpk })),
      };
    },
  );

  app.post(
    '/v1/swap',
    {
      ...listBody([
        ['inputs', 1, maxInputs, 'MaxInputsExceeded'],
        ['outputs', 1, maxOutputs, 'MaxOutputsExceeded'],
      ]),
      schema: routeSchema('NUT-03 swap notes for new notes', SwapResponse, { body: SwapRequest }),
    },
    async (req) => ({ signatures: await mint.swap(req.body.inputs, req.body.outputs) }),
  );

  app.post(
    '/v1/checkstate',
    {
      ...listBody([['Ys', 0, maxInputs, 'MaxInputsExceeded']]),
      schema: routeSchema('NUT-07 state of notes by Y', CheckStateResponse, { body: CheckStateRequest }),
    },
    async (req) => ({ states: await mint.checkState(req.body.Ys) }),
  );

  app.post(
    '/v1/restore',
    {
      ...listBody([['outputs', 1, maxOutputs, 'MaxOutputsExceeded']]),
      schema: routeSchema('NUT-09 signatures once given for these blinded messages', RestoreResponse, {
        body: RestoreRequest,
      }),
    },
    async (req) => mint.restore(req.body.outputs),
  );
}

/** NUT-01: keys map amounts, as decimal strings, to compressed public keys. */
function keysOf(ks: MintKeyset): Static<typeof KeysetKeys> {
  const keys: Record<string, string> = {};
  for (const [amount, K] of ks.publicKeys) keys[String(amount)] = bytesToHex(K);
  return { id: ks.id, unit: ks.unit, active: ks.active, input_fee_ppk: ks.inputFeePpk, keys };
}

export type ListBound = readonly [
  field: string,
  min: number,
  max: number,
  tooMany: 'MaxInputsExceeded' | 'MaxOutputsExceeded',
];

/**
 * Runs before schema validation, so an over-long or empty list gets the Cashu code wallets know
 * (11014/11015, NUT-03's empty request) instead of a generic schema error; shapes are left to the schema.
 */
export function bounded(bounds: readonly ListBound[]) {
  return async (req: { body: unknown }) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null) return;
    for (const [field, min, max, tooMany] of bounds) {
      const list: unknown = (body as Record<string, unknown>)[field];
      if (!Array.isArray(list)) continue;
      if (list.length > max)
        fail(tooMany, { count: list.length, max }, `${field}: at most ${max} allowed, got ${list.length}`);
      if (list.length < min) fail('EmptyRequest', { argument: field }, `${field} must not be empty`);
    }
  };
}

/** Bytes one entry of each bounded list may take, by the list's field name. */
const BYTES_PER_ENTRY: Record<string, number> = {
  inputs: BYTES_PER_INPUT,
  outputs: BYTES_PER_OUTPUT,
  Ys: BYTES_PER_Y,
};

/**
 * The body options of a route whose body is made of bounded lists: the body limit those lists allow
 * (their maximum lengths times their entry sizes) and the `bounded` pre-validation of their lengths.
 */
export function listBody(bounds: readonly ListBound[]): {
  bodyLimit: number;
  preValidation: ReturnType<typeof bounded>;
} {
  let bodyLimit = BYTES_OVERHEAD;
  for (const [field, , max] of bounds) {
    const bytes = BYTES_PER_ENTRY[field];
    if (bytes === undefined) fail('Internal', { reason: `no entry size for list ${field}` });
    bodyLimit += max * bytes;
  }
  return { bodyLimit, preValidation: bounded(bounds) };
}

/** A route's schema that answers `ok` or a wire refusal (any 4xx), with its `body` and `params` schemas. */
export function routeSchema<R extends TSchema, P extends { body?: TSchema; params?: TSchema }>(
  summary: string,
  ok: R,
  parts: P,
): { summary: string; response: { 200: R; '4xx': typeof WireErrorSchema } } & P {
  return { summary, ...parts, response: { 200: ok, '4xx': WireErrorSchema } };
}
