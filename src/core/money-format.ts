/**
 * Money as a person reads and types it: major units with the currency's decimals (`12.50 EUR`).
 * Inside and on the wire amounts stay integer minor units (`Amount`, money.ts); this module is the
 * one place that converts, for the command line and the demo. `--json` output keeps minor units.
 * Parsing works on the digits as text (no floats), so every amount it accepts round-trips exactly.
 */
import { describe, fail } from './errors.js';
import { type Amount, MAX_TOTAL } from './money.js';

/**
 * Decimals of the ISO 4217 currencies that do not use 2 (ISO 4217 "minor unit" column), and of the
 * Cashu units counted whole (NUT-00 `sat`, `msat`). Every other unit has 2.
 */
const DECIMALS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  SAT: 0,
  MSAT: 0,
};

/** How a unit is shown: ISO 4217 codes in capitals (`eur` → `EUR`). */
export function unitLabel(unit: string): string {
  return unit.toUpperCase();
}

/** The number of decimals a person writes for `unit` (EUR 2, JPY 0, KWD 3; unknown units 2). */
export function currencyDecimals(unit: string): number {
  return DECIMALS[unitLabel(unit)] ?? 2;
}

/** Minor units as major units without the unit: 1250 EUR → `12.50`, 1250 JPY → `1250`. */
export function formatMajor(minor: number, unit: string): string {
  const decimals = currencyDecimals(unit);
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const text = decimals === 0 ? whole : `${whole}.${digits.slice(digits.length - decimals)}`;
  return negative ? `-${text}` : text;
}

/** Minor units as a person reads them: 1250 EUR → `12.50 EUR`. */
export function formatMoney(minor: number, unit: string): string {
  return `${formatMajor(minor, unit)} ${unitLabel(unit)}`;
}

export interface ParseMoneyOptions {
  /** The argument's name, for the error message (default `amount`). */
  argument?: string;
  /** Whether 0 is accepted; default false. */
  allowZero?: boolean;
  /** An upper bound in minor units below `MAX_TOTAL`. */
  max?: number;
}

/**
 * What a person typed (`12.50`, `12.5`, `12`, `12.50 EUR`) as an `Amount` in minor units of `unit`.
 * Refuses, naming the real problem: more decimals than the currency has, a sign, an exponent,
 * thousands separators, another unit, junk, zero, and amounts above the limit (named in major units).
 */
export function parseMoney(text: string, unit: string, opts: ParseMoneyOptions = {}): Amount {
  const argument = opts.argument ?? 'amount';
  const label = unitLabel(unit);
  const decimals = currencyDecimals(unit);
  const max = Math.min(opts.max ?? MAX_TOTAL, MAX_TOTAL);
  const example = decimals === 0 ? '1250' : `12.${'5'.padEnd(decimals, '0')}`;
  function refuse(expected: string, why: string): never {
    return fail('InvalidAmount', { argument, expected, received: describe(text) }, `${argument}: ${why}`);
  }

  const m = /^\s*(\S+?)(?:\s+([A-Za-z]+))?\s*$/.exec(text);
  // No unit split off (`1 234`, `12 50`): the separator and junk checks below see the whole text.
  const number = m?.[1] ?? text.trim();
  if (m?.[2] !== undefined && unitLabel(m[2]) !== label) {
    refuse(`an amount in ${label}`, `this wallet holds ${label}, got ${describe(text)}`);
  }
  if (/^-/.test(number)) refuse('a positive amount', `an amount cannot be negative, got ${describe(text)}`);
  if (/^[0-9.]*[0-9][eE][+-]?[0-9]+$/.test(number)) {
    refuse(
      `plain digits like ${example}`,
      `write the amount in plain digits like ${example}, without an exponent; got ${describe(text)}`,
    );
  }
  if (/^[0-9]{1,3}([,' _][0-9]{3})+(\.[0-9]+)?$/.test(number)) {
    refuse(
      `digits without separators like ${example}`,
      `write the amount without thousands separators (e.g. 1234${decimals === 0 ? '' : `.${'0'.repeat(decimals)}`}), got ${describe(text)}`,
    );
  }
  const parts = /^([0-9]+)(?:\.([0-9]+))?$/.exec(number);
  if (!parts) {
    refuse(
      `an amount like ${example} ${label}`,
      `expected an amount like ${example} or ${example} ${label}, got ${describe(text)}`,
    );
  }
  const whole = parts[1] ?? '0';
  const fraction = parts[2] ?? '';
  if (fraction.length > decimals) {
    refuse(
      `at most ${decimals} decimals`,
      decimals === 0
        ? `${label} has no decimals (whole ${label} only), got ${describe(text)}`
        : `${label} has ${decimals} decimals, got ${describe(text)}`,
    );
  }
  // BigInt: a 20-digit input must be refused as too large, not rounded into range.
  const minor = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (minor === 0n && !opts.allowZero) {
    refuse(`more than ${formatMoney(0, unit)}`, `the amount must be more than ${formatMoney(0, unit)}`);
  }
  if (minor > BigInt(max)) {
    refuse(
      `at most ${formatMoney(max, unit)}`,
      `${describe(text)} is above the limit of ${formatMoney(max, unit)}`,
    );
  }
  return Number(minor) as Amount;
}
