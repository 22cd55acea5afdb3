/**
 * `lancash soak --dialect postgres`: two fresh databases (bank, gateway) on the server at `url`,
 * named after the run, so a soak never touches an existing deployment's data.
 */
import pg from 'pg';

export async function freshDatabases(url: string, seed: number): Promise<{ bank: string; gateway: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const base = `lancash_soak_${seed}_${Date.now().toString(36)}`;
    const urls: Record<string, string> = {};
    for (const role of ['bank', 'gateway']) {
      // A name of digits, letters and underscores made here: nothing to quote.
      await client.query(`CREATE DATABASE ${base}_${role}`);
      const u = new URL(url);
      u.pathname = `/${base}_${role}`;
      urls[role] = u.toString();
    }
    return { bank: urls.bank!, gateway: urls.gateway! };
  } finally {
    await client.end();
  }
}
