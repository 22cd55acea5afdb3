/**
 * cashu-ts 4 wallets at the real-process mints (`startProcessNet`): a loaded wallet, fresh notes at the
 * wide bank (bolt11, fake Lightning) or at the gateway's local mint (funded through a job 2, as it has
 * no NUT-04), and the Cashu error code of a refused call. Shared by the `*.cashu-ts.test.ts` files.
 */
import { type Proof as CashuProof, type MintOperationError, Wallet } from '@cashu/cashu-ts';
import { fundLocal, type ProcessNet } from './gateway-process.js';
import { Terminal } from './terminal.js';

/** A cashu-ts wallet (unit `eur`) with the mint at `url` loaded. */
export async function cashuWallet(url: string): Promise<Wallet> {
  const wallet = new Wallet(url, { unit: 'eur' });
  await wallet.loadMint();
  return wallet;
}

/** Fresh notes of `amount` held by a new cashu-ts wallet at the wide bank, minted via a bolt11 quote. */
export async function fundedAtBank(
  net: ProcessNet,
  amount: number,
): Promise<{ wallet: Wallet; proofs: CashuProof[] }> {
  const wallet = await cashuWallet(net.bankUrl);
  const quote = await wallet.createMintQuoteBolt11(amount);
  return { wallet, proofs: await wallet.mintProofsBolt11(amount, quote.quote) };
}

/** Fresh notes of `amount` held by a new cashu-ts wallet at the gateway's local mint. */
export async function fundedAtLocalMint(
  net: ProcessNet,
  amount: number,
): Promise<{ wallet: Wallet; proofs: CashuProof[] }> {
  const holder = await Terminal.create('lan');
  await fundLocal(net, await Terminal.create('wan'), await Terminal.create('lan'), [
    { terminal: holder, amount },
  ]);
  const wallet = await cashuWallet(net.lan);
  return { wallet, proofs: await wallet.receive(holder.takeAll(net.lan)) };
}

/** The Cashu error code of a refused call (cashu-ts throws `MintOperationError` for the mint's 4xx). */
export async function cashuRefusal(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    const err = e as Partial<MintOperationError>;
    if (typeof err.code === 'number' && typeof err.status === 'number' && err.status < 500) return err.code;
    throw e;
  }
  throw new Error('expected the mint to refuse');
}
