/**
 * A terminal (docs/design.md §1): a wallet on the LAN or the WAN, bound to one mint (the gateway's local
 * mint, or the wide bank), with its seed, its X25519 key and address, and its notes in a
 * `WalletStore`. It composes the operations (send, receive, tokens, Lightning mint, restore) and
 * settles whatever a crash left open (`recover`). Portable: no Node-only import here; storage and
 * network are handed in.
 */
import type { Network } from '../core/address/index.js';
import { bytesToHex, hex } from '../core/bytes.js';
import type { Curve } from '../core/crypto/curve.js';
import { nobleCurve } from '../core/crypto/noble.js';
import { describe, fail } from '../core/errors.js';
import type { TransferStatus } from '../core/protocol/gateway.js';
import { inboxEventsUrl } from '../mailbox/client.js';
import { mailboxOf, messageOf, reachable, type WalletContext } from './context.js';
import { newMnemonic, seedFromMnemonic, terminalAddress, terminalKeyPair, terminalLockKey } from './keys.js';
import { type MintOptions, mintFromLightning, settleMint } from './lightning.js';
import { MintClient } from './mint-client.js';
import type { WalletNet } from './net.js';
import { drainInbox, finishReceive, normalizeMintUrl, type ReceiveSummary, tokenReceive } from './receive.js';
import { refreshNotes } from './refresh.js';
import { type RestoreOptions, type RestoreSummary, restoreFromSeed } from './restore.js';
import { applyStatus, cancel, resumeOutgoing, type SendOptions, send, sendFee, tokenSend } from './send.js';
import { rollBack } from './settle.js';
import type { Operation, WalletConfig, WalletStore } from './store.js';
import { TERMINAL_STATES } from './store.js';

export interface WalletOptions {
  store: WalletStore;
  net: WalletNet;
  /** Default noble (portable); Node passes the libsecp256k1 backend. */
  curve?: Curve;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called at each named step of an operation (crash tests). */
  step?: (point: string) => void;
  /**
   * Settle open operations by itself (default true): after an operation is left open (a peer did not
   * answer) and when a wallet with open operations is opened, `recover()` runs in the background,
   * again and again with a growing pause (1 s to 5 min) while any stays open. `close()` stops it.
   */
  autoRecover?: boolean;
  /**
   * With `autoRecover`, how often an open wallet asks the mint whether it rotated its keys (default 1
   * hour): a wallet left idle (a browser tab) renews notes of a rotated-out keyset within that time,
   * well inside the grace before the mint retires them (a week by default). One `GET /v1/keysets`.
   */
  rotationCheckMs?: number;
}

/** Pauses of the background recovery: the first, and the longest it grows to. */
const AUTO_RECOVER_FIRST_MS = 1000;
const AUTO_RECOVER_MAX_MS = 5 * 60_000;
/** How often an idle, open wallet looks for a key rotation by default. */
const ROTATION_CHECK_MS = 60 * 60_000;

export interface CreateOptions extends WalletOptions {
  network: Network;
  mint: string;
  gateway?: string;
  mailbox?: string;
  /** The mint's unit to hold; needed only when the mint has several. */
  unit?: string;
  /** The words of an existing terminal (then `restore` finds its notes); default fresh words. */
  mnemonic?: string;
}

export interface Balance {
  unit: string;
  /** Value of unspent notes: what can be spent now. */
  available: number;
  /** Value held by open operations (sent but not settled, tokens not redeemed, …). */
  pending: number;
}

export interface RecoverSummary {
  /** Open operations that reached done or failed now. */
  settled: Operation[];
  /** Operations still open (a peer did not answer, a token not yet redeemed, …). */
  open: Operation[];
}

export class Wallet {
  /** Operations started from outside now: a recovery waits until none runs, and they wait for it. */
  private running = 0;
  private idle: (() => void)[] = [];
  private recovering: Promise<RecoverSummary> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private rotationTimer: ReturnType<typeof setTimeout> | undefined;
  private pauseMs = AUTO_RECOVER_FIRST_MS;
  private closed = false;
  /** The mint's rotations already answered by renewing notes; -1: not yet since the wallet opened. */
  private renewedFor = -1;

  private constructor(
    private readonly ctx: WalletContext,
    private readonly autoRecover = true,
  ) {}

  /** Makes a new terminal in an empty store (checking the mint, and the gateway if given); prints nothing. */
  static async create(o: CreateOptions): Promise<{ wallet: Wallet; mnemonic: string }> {
    if (o.network !== 'lan' && o.network !== 'wan') {
      fail(
        'InvalidInput',
        { argument: 'network', expected: "'lan' or 'wan'", received: describe(o.network) },
        `network: expected lan or wan, got ${describe(o.network)}`,
      );
    }
    if (await o.store.readConfig())
      fail('WalletExists', { reason: 'configured' }, 'a wallet already exists here');
    const curve = o.curve ?? nobleCurve;
    const mint = normalizeMintUrl(o.mint);
    const gateway = o.gateway === undefined ? undefined : normalizeMintUrl(o.gateway);
    const mailbox = o.mailbox === undefined ? undefined : normalizeMintUrl(o.mailbox);
    const units = await reachable(mint, () => new MintClient(o.net, mint, '', curve).units());
    const unit = o.unit ?? (units.length === 1 ? units[0] : undefined);
    if (unit === undefined || !units.includes(unit)) {
      return fail(
        'UnitNotSupported',
        { unit: unit ?? '(none given)' },
        `mint ${mint} has units ${units.join(', ') || '(none)'}; choose one`,
      );
    }
    await reachable(mint, () => new MintClient(o.net, mint, unit, curve).activeKeyset());
    // The inbox must be on this network: a LAN wallet pointed at the wide bank is refused here.
    const inbox = mailbox ?? mint;
    const served = (await reachable(inbox, () => o.net.mailboxInfo(inbox))).network;
    if (served !== o.network) {
      fail(
        'InvalidInput',
        { argument: 'mailbox', expected: `a ${o.network} mailbox`, received: `a ${served} one` },
        `the mailbox at ${inbox} serves the ${served} network, not ${o.network} (is the mint URL the right one?)`,
      );
    }
    if (gateway !== undefined) {
      const info = await reachable(gateway, () => o.net.gatewayInfo(gateway));
      if (info.unit !== unit) {
        fail(
          'MintMismatch',
          { expected: unit, received: info.unit },
          `the gateway converts ${info.unit}, the mint issues ${unit}`,
        );
      }
      // The gateway names the mint in every payment it delivers; a wallet bound to another spelling
      // of it would refuse them all, so the two must agree now.
      const theirs = o.network === 'lan' ? info.localMint : info.wideBank;
      if (theirs !== undefined && normalizeMintUrl(theirs) !== mint) {
        fail(
          'MintMismatch',
          { expected: mint, received: theirs },
          `the gateway's ${o.network === 'lan' ? 'local mint' : 'wide bank'} is ${theirs}; use --mint ${theirs}`,
        );
      }
    }
    const mnemonic = o.mnemonic ?? newMnemonic();
    const seed = seedFromMnemonic(mnemonic);
    const config: WalletConfig = {
      version: 1,
      network: o.network,
      mint,
      unit,
      seed: bytesToHex(seed),
      createdAt: (o.now ?? Date.now)(),
      ...(gateway === undefined ? {} : { gateway }),
      ...(mailbox === undefined ? {} : { mailbox }),
    };
    await o.store.writeConfig(config);
    return { wallet: await Wallet.open(o), mnemonic };
  }

  /** The terminal kept in `o.store`; `WalletNotInitialized` when there is none. */
  static async open(o: WalletOptions): Promise<Wallet> {
    const config = await o.store.readConfig();
    if (!config)
      return fail('WalletNotInitialized', { reason: 'no configuration' }, 'no wallet here; run init first');
    const curve = o.curve ?? nobleCurve;
    const seed = hex(config.seed, 'seed');
    const keys = await terminalKeyPair(seed);
    const lock = terminalLockKey(seed);
    const wallet = new Wallet(
      {
        store: o.store,
        net: o.net,
        mint: new MintClient(o.net, config.mint, config.unit, curve),
        curve,
        config,
        seed,
        keys,
        lock,
        address: terminalAddress(config.network, keys, lock),
        now: o.now ?? Date.now,
        step: o.step ?? (() => {}),
        sleep: o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      },
      o.autoRecover ?? true,
    );
    wallet.keepSettling(0);
    wallet.watchRotations(o.rotationCheckMs ?? ROTATION_CHECK_MS);
    return wallet;
  }

  get address(): string {
    return this.ctx.address;
  }

  /**
   * The terminal's P2PK lock key (33-byte compressed, hex), also in its address: a Cashu wallet that
   * locks a token to it (NUT-11) pays this terminal alone.
   */
  get lockKey(): string {
    return bytesToHex(this.ctx.lock.publicKey);
  }

  get config(): Readonly<Omit<WalletConfig, 'seed'>> {
    const { seed: _seed, ...rest } = this.ctx.config;
    return rest;
  }

  /** Whether `words` are this terminal's seed. */
  hasSeed(words: string): boolean {
    return bytesToHex(seedFromMnemonic(words)) === this.ctx.config.seed;
  }

  async balance(): Promise<Balance> {
    const notes = await this.ctx.store.notes();
    const total = (state: string) =>
      notes.filter((n) => n.state === state).reduce((n, x) => n + x.proof.amount, 0);
    return { unit: this.ctx.config.unit, available: total('unspent'), pending: total('pending') };
  }

  /** Every operation, oldest first: the terminal's history of payments in and out. */
  history(): Promise<Operation[]> {
    return this.ctx.store.operations();
  }

  operation(id: string): Promise<Operation | undefined> {
    return this.ctx.store.operation(id);
  }

  /**
   * The NUT-02 input fees `send({ to, amount })` would cost now, in minor units, to state before the
   * send (0 without fees); undefined when the balance does not cover the amount with them.
   */
  sendFee(to: string, amount: number): Promise<number | undefined> {
    return sendFee(this.ctx, to, amount);
  }

  /** Pays an address on this network directly, or on the other network through the gateway. */
  send(o: SendOptions): Promise<Operation> {
    return this.alongside(() => send(this.ctx, o));
  }

  /** Drains the inbox: payments are swapped in, refusals recorded, gateway notices applied. */
  receive(): Promise<ReceiveSummary> {
    return this.alongside(() =>
      drainInbox(this.ctx, { onNotice: (status, sender) => this.notice(status, sender) }),
    );
  }

  /**
   * The URL of this inbox's live events (`arrived`) with a fresh proof of ownership, good for one
   * connection: `subscribe` (web/ui/live.ts) with this method as its URL, then `receive()` on each event.
   */
  async inboxEventsUrl(): Promise<string> {
    const base = mailboxOf(this.ctx);
    const info = await reachable(base, () => this.ctx.net.mailboxInfo(base));
    return inboxEventsUrl(base, {
      owner: this.ctx.keys,
      address: this.ctx.address,
      serverKey: hex(info.key, 'mailbox key', 32),
    });
  }

  /** A `cashuB` token worth `amount`; its notes stay pending until the mint says they were redeemed. */
  async tokenSend(amount: number, memo?: string): Promise<{ token: string; operation: Operation }> {
    const operation = await this.alongside(() => tokenSend(this.ctx, amount, memo));
    return { token: operation.data.token!, operation };
  }

  tokenReceive(token: string): Promise<Operation> {
    return this.alongside(() => tokenReceive(this.ctx, token));
  }

  /** New notes over Lightning (NUT-04 `bolt11`). */
  mintFromLightning(amount: number, o?: MintOptions): Promise<Operation> {
    return this.alongside(() => mintFromLightning(this.ctx, amount, o));
  }

  /** Finds the notes of this seed at the mint (NUT-09/13) and adds the ones this store lacks. */
  restore(o?: RestoreOptions): Promise<RestoreSummary> {
    return this.alongside(() => restoreFromSeed(this.ctx, o));
  }

  /** Takes back what an open outgoing operation holds (the mint decides who had it first). */
  async cancel(id: string): Promise<Operation> {
    const op = await this.ctx.store.operation(id);
    if (!op) return fail('NotFound', { what: 'operation', id }, `no operation ${id} in this wallet`);
    return this.alongside(() => cancel(this.ctx, op));
  }

  /**
   * One step on every open operation, from what the mint, the mailbox and the gateway say now. Runs
   * at every start of the CLI, so a crash at any point is settled by the next command, and by itself
   * in the background (`autoRecover`). Never alongside another operation of this wallet: it would
   * judge a swap still on its way as not done. A call while one runs joins it.
   */
  recover(): Promise<RecoverSummary> {
    this.recovering ??= (async () => {
      try {
        while (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
        return await this.recoverNow();
      } finally {
        this.recovering = undefined;
      }
    })();
    return this.recovering;
  }

  /** Stops the background recovery; operations already running finish. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rotationTimer !== undefined) clearTimeout(this.rotationTimer);
    this.rotationTimer = undefined;
  }

  /**
   * Reads the mint's keysets every `ms` while the wallet is open (`autoRecover` only). A rotation seen
   * there (`rotationsSeen`) makes the background recovery renew the notes of the old keyset before the
   * mint retires it: without this, an idle wallet noticed a rotation only at its next operation.
   */
  private watchRotations(ms: number): void {
    if (!this.autoRecover || this.closed) return;
    // A timeout set again each round (as `keepSettling`): only timeouts are sure in every host.
    this.rotationTimer = setTimeout(async () => {
      try {
        await this.ctx.mint.inactiveKeysetIds();
        this.keepSettling(0);
      } catch {
        // The mint will answer another time.
      }
      if (!this.closed) this.watchRotations(ms);
    }, ms);
    (this.rotationTimer as { unref?: () => void }).unref?.();
  }

  /** Runs an operation started from outside: after any recovery running now, then keeps settling. */
  private async alongside<T>(fn: () => Promise<T>): Promise<T> {
    while (this.recovering !== undefined) await this.recovering.catch(() => undefined);
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      if (this.running === 0) for (const wake of this.idle.splice(0)) wake();
      this.keepSettling(AUTO_RECOVER_FIRST_MS);
    }
  }

  /**
   * Schedules a background `recover()` after `ms` when operations are open, pausing longer each time
   * one stays open. A timer that does not keep a Node process alive (the CLI exits when done).
   */
  private keepSettling(ms: number): void {
    if (!this.autoRecover || this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(async () => {
      try {
        const open = await this.ctx.store.operations({ open: true });
        // Once after opening, and after a rotation the mint client saw: notes of old keysets to renew.
        const renew = this.renewedFor !== this.ctx.mint.rotationsSeen;
        if ((open.length === 0 && !renew) || this.closed) {
          this.pauseMs = AUTO_RECOVER_FIRST_MS;
          return;
        }
        const { open: still } = await this.recover();
        this.pauseMs =
          still.length === 0 ? AUTO_RECOVER_FIRST_MS : Math.min(this.pauseMs * 2, AUTO_RECOVER_MAX_MS);
      } catch {
        // A store that failed now decides nothing: the next round asks again.
      } finally {
        this.timer = undefined;
      }
      const open = await this.ctx.store.operations({ open: true }).catch(() => []);
      if (open.length > 0) this.keepSettling(this.pauseMs);
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async recoverNow(): Promise<RecoverSummary> {
    const summary: RecoverSummary = { settled: [], open: [] };
    for (const op of await this.ctx.store.operations({ open: true })) {
      let after = op;
      try {
        if (op.kind === 'receive') after = await finishReceive(this.ctx, op, true);
        else if (op.kind === 'refresh')
          after = await rollBack(this.ctx, op, 'renewal interrupted; settled as the mint says');
        else if (op.kind === 'mint') after = await settleMint(this.ctx, op, 0);
        else after = await resumeOutgoing(this.ctx, op);
      } catch (e) {
        // A peer's refusal or a bug must not stop the others; the operation stays as it is.
        after = { ...op, reason: messageOf(e) };
      }
      (TERMINAL_STATES.includes(after.state) ? summary.settled : summary.open).push(after);
    }
    // Notes of keysets the mint rotated out, renewed before the mint retires them (docs/mint.md).
    const seen = this.ctx.mint.rotationsSeen;
    try {
      const renewed = await refreshNotes(this.ctx);
      if (renewed !== undefined)
        (TERMINAL_STATES.includes(renewed.state) ? summary.settled : summary.open).push(renewed);
      this.renewedFor = seen;
    } catch {
      // A refusal or a store failure decides nothing: the next recovery tries again.
    }
    return summary;
  }

  /** A gateway notice counts only for a transfer of ours, and only from the gateway it went to. */
  private async notice(status: TransferStatus, sender: Uint8Array): Promise<void> {
    const op = await this.ctx.store.operation(status.transferId);
    if (op?.kind !== 'gateway' || TERMINAL_STATES.includes(op.state)) return;
    if (op.data.gatewayKey !== bytesToHex(sender)) return;
    await applyStatus(this.ctx, op, status);
  }
}
