/**
 * NUT-06 `GET /v1/info` as lancash's clients read it: only whether the mint says it enforces NUT-11
 * P2PK. NUT-11 warns that a mint without it treats locked notes as it likes (lancash's mints used to
 * refuse them for good), so the wallet and the gateway lock a delivery only to a mint that says so
 * (docs/wallet.md, "Locked deliveries"). Portable: the browser wallet uses it too.
 */
import { type Static, Type } from '@sinclair/typebox';

export const MINT_INFO_PATH = '/v1/info';

/** The part of a NUT-06 answer read here; everything else is ignored. */
export const MintInfoNuts = Type.Object({
  nuts: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type MintInfoNuts = Static<typeof MintInfoNuts>;

/** Whether a NUT-06 answer lists NUT-11 as supported (`nuts["11"].supported === true`). */
export function listsP2pk(info: MintInfoNuts): boolean {
  const entry = info.nuts?.['11'];
  return typeof entry === 'object' && entry !== null && (entry as { supported?: unknown }).supported === true;
}

/**
 * One mint's NUT-11 support, asked once: a yes is kept (a mint does not drop enforcement while its
 * locked notes are out); a no or no answer is asked again after `retryMs`, and meanwhile means "do not
 * lock" (the delivery goes unlocked, as to a version-0 address: never money a mint refuses for good).
 */
export class P2pkSupport {
  private known = false;
  private askedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<boolean> | undefined;

  constructor(
    private readonly ask: () => Promise<MintInfoNuts>,
    private readonly clock: () => number = Date.now,
    private readonly retryMs = 10_000,
  ) {}

  async supported(): Promise<boolean> {
    if (this.known) return true;
    if (this.clock() - this.askedAt < this.retryMs) return false;
    this.pending ??= this.ask()
      .then(listsP2pk, () => false)
      .then((yes) => {
        this.known = yes;
        this.askedAt = this.clock();
        this.pending = undefined;
        return yes;
      });
    return this.pending;
  }
}
