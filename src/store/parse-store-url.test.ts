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

  it('never puts a URL password into the error message', () => {
    expect(() => parseStoreUrl('mysql://user:hunter2@db/x')).toThrow(/^(?!.*hunter2)/);
  });
});
