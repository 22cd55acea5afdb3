/** `parseStoreUrl`: how operators name a store on the command line (`--db URL`). */
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { parseStoreUrl, type StoreConfig } from './index.js';

describe('parseStoreUrl', () => {
  it.each<[string, StoreConfig]>([
    ['postgres://u:p@db:5432/lancash', { dialect: 'postgres', url: 'postgres://u:p@db:5432/lancash' }],
    [
      'postgresql://db/lancash?sslmode=require',
      { dialect: 'postgres', url: 'postgresql://db/lancash?sslmode=require' },
    ],
    ['PostgreSQL://db/x', { dialect: 'postgres', url: 'PostgreSQL://db/x' }],
    ['sqlite:/var/lib/lancash/bank.sqlite', { dialect: 'sqlite', file: '/var/lib/lancash/bank.sqlite' }],
    ['sqlite:///var/lib/lancash/bank.sqlite', { dialect: 'sqlite', file: '/var/lib/lancash/bank.sqlite' }],
    ['sqlite:data/bank.sqlite', { dialect: 'sqlite', file: 'data/bank.sqlite' }],
    ['sqlite::memory:', { dialect: 'sqlite', file: ':memory:' }],
    ['/srv/bank.sqlite', { dialect: 'sqlite', file: '/srv/bank.sqlite' }],
    ['./bank.db', { dialect: 'sqlite', file: './bank.db' }],
    [':memory:', { dialect: 'sqlite', file: ':memory:' }],
  ])('%s', (input, expected) => {
    expect(parseStoreUrl(input)).toEqual(expected);
  });

  it.each(['', '   ', 'sqlite:', 'sqlite://', 'mysql://db/x', 'http://example.com/db'])(
    'refuses %j with InvalidInput',
    (input) => {
      let err: unknown;
      try {
        parseStoreUrl(input);
      } catch (e) {
        err = e;
      }
      expect(isLancashError(err, 'InvalidInput')).toBe(true);
    },
  );

  it('reads the pool settings out of a PostgreSQL URL and leaves pg every other parameter', () => {
    expect(parseStoreUrl('postgres://u:p%40ss@db/lancash?sslmode=require&pool_size=20')).toEqual({
      dialect: 'postgres',
      url: 'postgres://u:p%40ss@db/lancash?sslmode=require',
      poolSize: 20,
    });
    expect(
      parseStoreUrl('postgresql:///lancash?checkout_timeout_ms=2500&host=/run/postgresql&pool_size=4'),
    ).toEqual({
      dialect: 'postgres',
      url: 'postgresql:///lancash?host=%2Frun%2Fpostgresql',
      poolSize: 4,
      checkoutTimeoutMs: 2500,
    });
  });

  it.each([
    ['pool_size=0', 'pool_size', '0'],
    ['pool_size=', 'pool_size', ''],
    ['pool_size=ten', 'pool_size', 'ten'],
    ['checkout_timeout_ms=1.5', 'checkout_timeout_ms', '1.5'],
    ['checkout_timeout_ms=1e3', 'checkout_timeout_ms', '1e3'],
    ['checkout_timeout_ms=-5', 'checkout_timeout_ms', '-5'],
  ])('refuses %s with InvalidInput naming the parameter, and no password', (query, name, received) => {
    let err: unknown;
    try {
      parseStoreUrl(`postgres://u:hunter2@db/x?${query}`);
    } catch (e) {
      err = e;
    }
    expect(isLancashError(err, 'InvalidInput')).toBe(true);
    expect(err).toMatchObject({
      info: { argument: `store url ${name}`, expected: 'a positive integer', received },
    });
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('never puts a URL password into the error message', () => {
    expect(() => parseStoreUrl('mysql://user:hunter2@db/x')).toThrow(/^(?!.*hunter2)/);
  });
});
