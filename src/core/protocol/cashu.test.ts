/** `decode` where `new Function` is forbidden (a web page's CSP without 'unsafe-eval'): it still checks. */
import { Type } from '@sinclair/typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { decode } from './cashu.js';

const Fn = globalThis.Function;

describe('decode without eval', () => {
  afterEach(() => {
    globalThis.Function = Fn;
  });

  it('accepts a good value and names the bad path of a wrong one, as with the compiled checker', () => {
    // What a browser does under `script-src 'self'`: the Function constructor throws EvalError.
    globalThis.Function = function blocked() {
      throw new EvalError('Refused to evaluate a string as JavaScript');
    } as unknown as FunctionConstructor;
    const S = Type.Object({ amount: Type.Integer({ minimum: 1 }) });
    expect(decode(S, { amount: 5 })).toEqual({ amount: 5 });
    expect(() => decode(S, { amount: 'x' })).toThrow(/body\.amount: Expected integer/);
  });
});
