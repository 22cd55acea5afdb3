/**
 * The ordered list of migrations. Append new ones at the end (`002_…`, `003_…`); never edit or
 * reorder one that has shipped. A static list (no directory scan) works the same from `src/` under
 * vitest and from `dist/` when installed.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m001 from './001_mint.js';
import * as m002 from './002_bank_ledger.js';
import * as m003 from './003_lightning_quotes.js';
import * as m004 from './004_mailbox.js';
import * as m005 from './005_gateway.js';
import * as m006 from './006_gateway_operator_jobs.js';
import * as m007 from './007_mailbox_hardening.js';
import * as m008 from './008_gateway_delivery.js';
import * as m009 from './009_bank_request_log.js';
import * as m010 from './010_gateway_reserve_series.js';
import * as m011 from './011_mint_keyset_retirement.js';
import * as m012 from './012_gateway_job_leases.js';
import * as m013 from './013_bank_chain.js';
import * as m015 from './015_mint_quote_pubkey.js';
import * as m018 from './018_gateway_job_pruning.js';
import * as m019 from './019_running_totals.js';
import * as m020 from './020_summary_totals.js';
import * as m024 from './024_bank_log_seq.js';
import * as m027 from './027_pg_uncompressed_columns.js';
import * as m028 from './028_mint_proofs_state_index.js';
import * as m029 from './029_gateway_job_event_bulk.js';
import * as m030 from './030_bank_request_function.js';
import * as m031 from './031_gateway_job_partial_indexes.js';
import * as m032 from './032_mint_swap_function.js';
import * as m033 from './033_bank_request_group.js';
import * as m034 from './034_mailbox_deposit_function.js';
import * as m035 from './035_gateway_journal_writes.js';
import * as m038 from './038_mint_proofs_fillfactor.js';
import * as m039 from './039_bank_hot_rows.js';

export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['001_mint', m001],
  ['002_bank_ledger', m002],
  ['003_lightning_quotes', m003],
  ['004_mailbox', m004],
  ['005_gateway', m005],
  ['006_gateway_operator_jobs', m006],
  ['007_mailbox_hardening', m007],
  ['008_gateway_delivery', m008],
  ['009_bank_request_log', m009],
  ['010_gateway_reserve_series', m010],
  ['011_mint_keyset_retirement', m011],
  ['012_gateway_job_leases', m012],
  ['013_bank_chain', m013],
  ['015_mint_quote_pubkey', m015],
  ['018_gateway_job_pruning', m018],
  ['019_running_totals', m019],
  ['020_summary_totals', m020],
  ['024_bank_log_seq', m024],
  ['027_pg_uncompressed_columns', m027],
  ['028_mint_proofs_state_index', m028],
  ['029_gateway_job_event_bulk', m029],
  ['030_bank_request_function', m030],
  ['031_gateway_job_partial_indexes', m031],
  ['032_mint_swap_function', m032],
  ['033_bank_request_group', m033],
  ['034_mailbox_deposit_function', m034],
  ['035_gateway_journal_writes', m035],
  ['038_mint_proofs_fillfactor', m038],
  ['039_bank_hot_rows', m039],
];

/** Kysely's `MigrationProvider` over `MIGRATIONS`. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => Object.fromEntries(MIGRATIONS),
};
