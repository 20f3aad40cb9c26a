// A `text/event-stream` parser (WHATWG HTML "server-sent events" rules, the parts we need).

export interface SseFrame {
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  id?: string;
}

/** Incremental parser: feed decoded text chunks, get complete frames back. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private hasData = false;

  /** Parses a chunk; returns the frames it completed. */
  push(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    let start = 0;
    for (;;) {
      let end = -1;
      let next = -1;
      for (let i = start; i < this.buffer.length; i++) {
        const c = this.buffer.charCodeAt(i);
        if (c === 10 /* \n */) {
          end = i;
          next = i + 1;
          break;
        }
        if (c === 13 /* \r */) {
          if (i + 1 === this.buffer.length) break; // wait: it may be half of a CRLF
          end = i;
          next = this.buffer.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
          break;
        }
      }
      if (end < 0) break;
      const frame = this.line(this.buffer.slice(start, end));
      if (frame) frames.push(frame);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  /** At end of stream: a frame without its closing blank line is discarded, as the spec says. */
  end(): SseFrame[] {
    const frames = this.buffer.endsWith('\r') ? this.push('\n') : [];
    this.buffer = '';
    this.reset();
    return frames;
  }

  private reset(): void {
    this.event = '';
    this.data = [];
    this.hasData = false;
  }

  private line(line: string): SseFrame | null {
    if (line === '') {
      if (!this.hasData) {
        this.event = '';
        return null;
      }
      const frame: SseFrame = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) frame.id = this.id;
      this.reset();
      return frame;
    }
    if (line.startsWith(':')) return null; // comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      default:
        break; // `retry` and unknown fields are ignored
    }
    return null;
  }
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'AbortError'
    ? reason
    : new DOMException('The stream was aborted.', 'AbortError');
}

/**
 * Reads a response body as SSE frames. Cancels the body when the consumer stops early. With
 * `signal`, an abort cancels the body and the generator throws an AbortError (not every fetch
 * implementation errors an already-received body on abort).
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  const onAbort = () => {
    reader.cancel().catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw abortError(signal);
    for (;;) {
      const { done, value } = await reader.read();
      if (signal?.aborted) throw abortError(signal);
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
    finished = true;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      try {
        await reader.cancel();
      } catch {
        // already errored or aborted
      }
    }
    reader.releaseLock();
  }
}
