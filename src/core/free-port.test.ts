import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralStart, freePort } from './free-port.js';

describe('freePort', () => {
  it('picks distinct ports below the kernel ephemeral range that a server can bind', async () => {
    const top = ephemeralStart();
    const picked = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(picked).size).toBe(picked.length);
    for (const port of picked) {
      // Below the range: no outgoing connection or listen(0) can be handed this port meanwhile.
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(top);
    }
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(picked[0], '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('skips ports in use and ports it handed out before', async () => {
    // `from` is handed out already; servers hold the next ten; only `from + 11` is left in the range.
    const from = await freePort();
    const range = { from, to: from + 12 };
    const servers = Array.from({ length: 10 }, () => createServer());
    await Promise.all(
      servers.map(
        // A port someone else holds is in use all the same: a failed bind is fine here.
        (s, i) =>
          new Promise<void>((resolve) =>
            s.once('error', () => resolve()).listen(from + 1 + i, '127.0.0.1', resolve),
          ),
      ),
    );
    const first = await freePort(range);
    // Beyond the range only when another process holds `from + 11` too: the kernel's pick.
    expect(first === from + 11 || first >= ephemeralStart()).toBe(true);
    // Nothing is left in the range: the kernel's pick.
    expect(await freePort(range)).toBeGreaterThanOrEqual(ephemeralStart());
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))));
  });
});
