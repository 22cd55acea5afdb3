/**
 * Cashu wire types (NUT-00, NUT-01, NUT-02, NUT-12) as schemas. Every JSON body that carries notes is
 * decoded by these at the edge (Fastify validates with them; `decode` serves everything else), so the
 * code inside works with trusted shapes. Amount limits come from `core/money.ts`.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { describe, fail } from '../errors.js';
import { MAX_NOTE_AMOUNT } from '../money.js';

/** Compressed secp256k1 point, 33 bytes as hex (NUT-00 `B_`, `C_`, `C`). */
export const PointHex = Type.String({ pattern: '^0[23][0-9a-fA-F]{64}$' });
/** 32-byte scalar as hex (NUT-12 `e`, `s`, `r`). */
export const ScalarHex = Type.String({ pattern: '^[0-9a-fA-F]{64}$' });
/** Keyset id: v1 is 8 bytes (`00…`), v2 is 33 bytes (`01…`) (NUT-02). */
export const KeysetId = Type.String({ pattern: '^(?:00[0-9a-fA-F]{14}|01[0-9a-fA-F]{64})$' });
/** A note amount as it travels: a positive integer no larger than the largest note. */
export const NoteAmount = Type.Integer({ minimum: 1, maximum: MAX_NOTE_AMOUNT });
/** NUT-00 secrets are strings; 1 KiB bounds the NUT-10 well-known secrets with room to spare. */
export const Secret = Type.String({ minLength: 1, maxLength: 1024 });

export const Dleq = Type.Object({ e: ScalarHex, s: ScalarHex });
export const ProofDleq = Type.Object({ e: ScalarHex, s: ScalarHex, r: ScalarHex });

/** NUT-00 BlindedMessage: what a wallet asks the mint to sign. */
export const BlindedMessage = Type.Object({ amount: NoteAmount, id: KeysetId, B_: PointHex });
export type BlindedMessage = Static<typeof BlindedMessage>;

/**
 * A blinded message whose amount the mint decides or ignores: NUT-08 blank outputs and NUT-09 restore
 * requests (wallets such as cashu-ts send amount 0 there).
 */
export const BlankMessage = Type.Object({
  amount: Type.Integer({ minimum: 0, maximum: MAX_NOTE_AMOUNT }),
  id: KeysetId,
  B_: PointHex,
});

/** NUT-00 BlindSignature, with the NUT-12 DLEQ proof. */
export const BlindSignature = Type.Object({
  amount: NoteAmount,
  id: KeysetId,
  C_: PointHex,
  dleq: Type.Optional(Dleq),
});
export type BlindSignature = Static<typeof BlindSignature>;

/** NUT-00 Proof: a note. `witness` is NUT-11/14 data; `dleq` carries `r` so others can check the mint's signature. */
export const Proof = Type.Object({
  amount: NoteAmount,
  id: KeysetId,
  secret: Secret,
  C: PointHex,
  witness: Type.Optional(Type.String({ maxLength: 4096 })),
  dleq: Type.Optional(ProofDleq),
});
export type Proof = Static<typeof Proof>;

/** NUT-01 keys of one keyset: amount (as a decimal string) → public key hex. */
export const Keys = Type.Record(Type.String({ pattern: '^[1-9][0-9]{0,15}$' }), PointHex);
export type Keys = Static<typeof Keys>;

type Checker = Pick<ReturnType<typeof TypeCompiler.Compile>, 'Check' | 'Errors'>;
const compiled = new Map<TSchema, Checker>();
let evalRefused = false;

/** A compiled checker, or the interpreting one where a page's CSP forbids `new Function` (no 'unsafe-eval'). */
function checkerOf(schema: TSchema): Checker {
  try {
    // Once refused, not tried again: each refusal is also a CSP violation report in the console.
    if (!evalRefused) return TypeCompiler.Compile(schema);
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    evalRefused = true;
  }
  return {
    Check: (v: unknown): v is unknown => Value.Check(schema, v),
    Errors: (v: unknown) => Value.Errors(schema, v),
  };
}

/**
 * Decodes an untrusted value against a schema or throws `InvalidInput` naming the first bad path.
 * Compiled schemas are cached, so this is cheap on hot paths.
 */
export function decode<T extends TSchema>(schema: T, value: unknown, argument = 'body'): Static<T> {
  let check = compiled.get(schema);
  if (!check) {
    check = checkerOf(schema);
    compiled.set(schema, check);
  }
  if (check.Check(value)) return value;
  const first = check.Errors(value).First();
  const path = first ? `${argument}${first.path.replaceAll('/', '.')}` : argument;
  return fail(
    'InvalidInput',
    { argument: path, expected: first?.message ?? 'a valid value', received: describe(first?.value) },
    `${path}: ${first?.message ?? 'invalid'} (got ${describe(first?.value)})`,
  );
}
