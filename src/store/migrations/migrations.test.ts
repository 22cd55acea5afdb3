/** The migration list: Kysely applies migrations in name order, so names must sort as listed. */
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrationProvider } from './index.js';

describe('MIGRATIONS', () => {
  it('are named NNN_name, unique, and listed in the order Kysely will apply them', () => {
    const names = MIGRATIONS.map(([name]) => name);
    for (const name of names) expect(name).toMatch(/^\d{3}_[a-z0-9_]+$/);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
    // Numbers rise strictly; a gap is allowed (numbers are allotted to parallel work before it lands).
    const numbers = names.map((n) => Number(n.slice(0, 3)));
    expect(numbers[0]).toBe(1);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
  });

  it('the provider serves exactly the list', async () => {
    expect(Object.keys(await migrationProvider.getMigrations())).toEqual(MIGRATIONS.map(([name]) => name));
  });
});
