/**
 * A `text/event-stream` reader (the WHATWG event-stream rules: any line ending, comments, multi-line
 * data, chunks split anywhere), shared by the pages' live updates (`web/ui/live.ts`) and Node clients
 * of the live routes (the bench's terminals, tests). Portable: no Node or DOM API.
 */

export interface SseMessage {
  /** `event:` (default `message`). */
  type: string;
  /** The `data:` lines joined by line feeds. */
  data: string;
}

/** An incremental `text/event-stream` parser: `push` text as it arrives, events come out of `onEvent`. */
export class SseParser {
  private line = '';
  /** The last chunk ended with CR: a LF opening the next one belongs to that line ending. */
  private afterCr = false;
  private type = '';
  private data: string[] = [];

  constructor(
    private readonly onEvent: (m: SseMessage) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  push(text: string): void {
    let start = 0;
    if (this.afterCr && text.startsWith('\n')) start = 1;
    this.afterCr = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      this.take(this.line + text.slice(start, i));
      this.line = '';
      if (c === '\r') {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.line += text.slice(start);
  }

  /** The stream ended: an event without its blank line is dropped (as the rules say). */
  end(): void {
    this.line = '';
    this.afterCr = false;
    this.type = '';
    this.data = [];
  }

  private take(line: string): void {
    if (line === '') {
      // Only an event with data is dispatched; the server sends `data:` even for empty ones.
      if (this.data.length > 0) this.onEvent({ type: this.type || 'message', data: this.data.join('\n') });
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment: the heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'retry' && /^[0-9]+$/.test(value)) this.onRetry(Number(value));
    // `id` and unknown fields: nothing here uses them.
  }
}
