import { describe, expect, it } from 'vitest';
import { isLancashError } from './errors.js';
import { nativeOrPortable } from './native-or-portable.js';

const parts = (native: 'ok' | 'refuses' | 'throws') => {
  const calls = { native: 0, portable: 0 };
  const choice = nativeOrPortable<{ name: string }>({
    what: 'Test',
    needs: 'Test25519',
    portable: () => {
      calls.portable++;
      return { name: 'portable' };
    },
    native: () => {
      calls.native++;
      if (native === 'throws') throw new Error('no such curve');
      return native === 'ok' ? { name: 'native' } : undefined;
    },
  });
  return { choice, calls };
};

describe('nativeOrPortable', () => {
  it('takes native when its check passes, once, and keeps the choice', () => {
    const { choice, calls } = parts('ok');
    expect(choice.get().name).toBe('native');
    expect(choice.get()).toBe(choice.get());
    expect(choice.get('portable').name).toBe('portable');
    expect(calls).toEqual({ native: 1, portable: 1 });
    choice.force('portable');
    expect(choice.get().name).toBe('portable');
  });

  it('falls back to portable when native refuses or throws, and refuses to name native then', () => {
    for (const how of ['refuses', 'throws'] as const) {
      const { choice, calls } = parts(how);
      expect(choice.get().name).toBe('portable');
      expect(choice.native()).toBeUndefined();
      let code: number | undefined;
      try {
        choice.get('native');
      } catch (e) {
        if (isLancashError(e)) code = e.code;
      }
      expect(code).toBe(70000);
      expect(calls.native).toBe(1);
    }
  });
});
