/**
 * The pages' event-stream parser and `subscribe`: chunks split anywhere (inside a line ending too),
 * multi-line data, comments, CR / LF / CRLF endings, events without their blank line dropped at the
 * end; reconnecting with a fresh URL and `onOpen` each time, stopping on a refusal for good.
 */
import { describe, expect, it } from 'vitest';
import { type SseMessage, SseParser, subscribe } from './live.js';

function parse(chunks: string[]): { events: SseMessage[]; retries: number[] } {
  const events: SseMessage[] = [];
  const retries: number[] = [];
  const p = new SseParser(
    (m) => events.push(m),
    (ms) => retries.push(ms),
  );
  for (const c of chunks) p.push(c);
  p.end();
  return { events, retries };
}

/** Every way to cut `text` in two, and one character at a time. */
function splits(text: string): string[][] {
  const out = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('SseParser', () => {
  const stream =
    'retry: 3000\n\n: heartbeat\n\nevent: status\ndata: {"a":1}\n\nevent: arrived\ndata:\n\ndata: one\ndata: two\n\n';
  const expected = {
    events: [
      { type: 'status', data: '{"a":1}' },
      { type: 'arrived', data: '' },
      { type: 'message', data: 'one\ntwo' },
    ],
    retries: [3000],
  };

  it('reads the same events however the stream is cut into chunks', () => {
    for (const chunks of splits(stream)) expect(parse(chunks)).toEqual(expected);
  });

  it('takes CRLF and CR line endings as LF, also when a CRLF is split between chunks', () => {
    for (const ending of ['\r\n', '\r']) {
      const text = stream.replaceAll('\n', ending);
      for (const chunks of splits(text)) expect(parse(chunks)).toEqual(expected);
    }
  });

  it('ignores comments, unknown fields and events without data; drops an event cut off by the end', () => {
    const text =
      ':only a comment\n\nid: 7\nfoo: bar\n\nevent: lone\n\nevent: x\ndata:  two spaces\nbare\n\nevent: cut\ndata: 1\n';
    expect(parse([text]).events).toEqual([{ type: 'x', data: ' two spaces' }]);
  });

  it('ignores a retry that is not a number', () => {
    expect(parse(['retry: soon\n\nretry: 10\n\n']).retries).toEqual([10]);
  });
});

/** A fetch that answers each call from `answers` in turn, recording the URLs asked. */
function fakeFetch(answers: (() => Response)[]) {
  const urls: string[] = [];
  const fetch = async (input: RequestInfo | URL) => {
    urls.push(String(input));
    const next = answers.shift();
    if (next === undefined) throw new TypeError('network down');
    return next();
  };
  return { urls, fetch: fetch as typeof globalThis.fetch };
}

const events = (text: string) =>
  new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });

describe('subscribe', () => {
  it('reconnects when the stream ends, with a fresh URL and onOpen each time, until aborted', async () => {
    const abort = new AbortController();
    const seen: [string, unknown][] = [];
    let opened = 0;
    let n = 0;
    const { urls, fetch } = fakeFetch([
      () => events('retry: 1\n\nevent: status\ndata: {"state":"receiving"}\n\n'),
      () => new Response('{"code":72003,"detail":"busy","error":"RateLimited","info":{}}', { status: 429 }),
      () => events('event: status\ndata: {"state":"done"}\n\n'),
    ]);
    await subscribe(() => `http://mailbox/events?proof=${++n}`, {
      fetch,
      signal: abort.signal,
      backoff: { baseMs: 1, capMs: 2 },
      onOpen: () => opened++,
      onEvent: (type, data) => {
        seen.push([type, data]);
        if ((data as { state: string }).state === 'done') abort.abort();
      },
    });
    expect(seen).toEqual([
      ['status', { state: 'receiving' }],
      ['status', { state: 'done' }],
    ]);
    expect(opened).toBe(2);
    expect(urls).toEqual([1, 2, 3].map((i) => `http://mailbox/events?proof=${i}`));
  });

  it('stops with the server’s error on a refusal that asking again cannot change', async () => {
    const { urls, fetch } = fakeFetch([
      () =>
        new Response(
          '{"code":71011,"detail":"not the inbox\'s owner","error":"InboxWatchRefused","info":{}}',
          {
            status: 403,
          },
        ),
    ]);
    const refusal = subscribe('http://mailbox/events', {
      fetch,
      signal: new AbortController().signal,
      onEvent: () => {},
    });
    await expect(refusal).rejects.toMatchObject({ code: 71011, kind: 'InboxWatchRefused' });
    expect(urls).toHaveLength(1);
  });

  it('retries network failures with backoff, telling the page each time', async () => {
    const abort = new AbortController();
    const waits: number[] = [];
    const { fetch } = fakeFetch([]);
    await subscribe('http://gw/events', {
      fetch,
      signal: abort.signal,
      backoff: { baseMs: 1, capMs: 4, random: () => 0.5 },
      onEvent: () => {},
      onDisconnect: (_e, ms) => {
        waits.push(ms);
        if (waits.length === 4) abort.abort();
      },
    });
    expect(waits).toEqual([1, 2, 4, 4]);
  });
});
