import { describe, expect, it } from 'vitest';
import { SseParser, readSse } from './sse';

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const frames = [];
  for await (const f of readSse(stream)) frames.push(f);
  return frames;
}

describe('SseParser', () => {
  it('parses event and data fields, frames split on blank lines', () => {
    const p = new SseParser();
    const frames = p.push('event: delta\ndata: {"content":"a"}\n\nevent: done\ndata: {}\n\n');
    expect(frames).toEqual([
      { event: 'delta', data: '{"content":"a"}' },
      { event: 'done', data: '{}' },
    ]);
  });

  it('joins multi-line data with newlines', () => {
    const p = new SseParser();
    expect(p.push('data: line one\ndata: line two\ndata:\ndata:  indented\n\n')).toEqual([
      { event: 'message', data: 'line one\nline two\n\n indented' },
    ]);
  });

  it('reassembles frames split across chunks at any point', () => {
    const text = 'event: delta\ndata: {"content":"héllo"}\n\nevent: done\r\ndata: {"id":"1"}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const frames = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut)), ...p.end()];
      expect(frames).toEqual([
        { event: 'delta', data: '{"content":"héllo"}' },
        { event: 'done', data: '{"id":"1"}' },
      ]);
    }
  });

  it('handles CRLF split between chunks without an extra blank line', () => {
    const p = new SseParser();
    const frames = [...p.push('data: a\r'), ...p.push('\ndata: b\r'), ...p.push('\n\r'), ...p.push('\n')];
    expect(frames).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('ignores comments (keep-alives), unknown fields and data-less frames', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\n\nretry: 1000\nfoo: bar\n\nevent: x\n\ndata: y\n\n')).toEqual([
      { event: 'message', data: 'y' },
    ]);
  });

  it('discards an unterminated frame at end of stream', () => {
    const p = new SseParser();
    expect(p.push('data: partial')).toEqual([]);
    expect(p.end()).toEqual([]);
  });
});

describe('readSse', () => {
  it('decodes multi-byte UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"content":"€✓"}\n\n');
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(await collect(streamOf(chunks))).toEqual([{ event: 'delta', data: '{"content":"€✓"}' }]);
  });

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const frame of readSse(stream)) {
      expect(frame.data).toBe('x');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
