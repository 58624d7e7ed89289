/**
 * Incremental splitters for the three ways providers frame a streamed body: Server-Sent Events
 * (OpenAI, Anthropic, Gemini with alt=sse), newline-delimited JSON (Ollama), and one JSON array
 * grown element by element (Gemini streamGenerateContent without alt=sse).
 *
 * Network chunks split anywhere: mid-line, between `\r` and `\n`, inside a multi-byte UTF-8
 * character. Each splitter keeps only the unfinished tail, and caps it so a peer that never
 * sends a newline cannot grow memory without limit.
 */

/** One dispatched SSE event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseEvent {
  /** The `event:` field, when the server sent one. */
  event?: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  id?: string;
}

/** Longest unfinished line (or JSON element) kept, in UTF-16 code units. */
export const DEFAULT_MAX_LINE_LENGTH = 8 * 1024 * 1024;

const LF = 10;

abstract class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private tail = '';
  private skipLeadingLf = false;
  private overflowing = false;
  /** Lines dropped because they outgrew maxLineLength. */
  droppedLines = 0;

  constructor(private readonly maxLineLength: number = DEFAULT_MAX_LINE_LENGTH) {}

  private atStart = true;

  protected decode(chunk: string | Uint8Array, final: boolean): string {
    let text: string;
    if (typeof chunk === 'string') text = final ? this.decoder.decode() + chunk : chunk;
    else text = this.decoder.decode(chunk, { stream: !final });
    // TextDecoder drops a leading byte-order mark from bytes; text input may still carry one.
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }

  /** Complete lines in `text`, keeping the unterminated remainder for the next call. */
  protected split(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    if (this.skipLeadingLf && text.length > 0) {
      // The previous chunk ended on "\r" of a "\r\n" pair.
      if (text.charCodeAt(0) === LF) start = 1;
      this.skipLeadingLf = false;
    }
    // Line breaks found by indexOf (a native scan), not a character loop: this runs over every
    // byte of every streamed model response the hook captures.
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.emit(lines, text.slice(start, i));
      start = i + 1;
      if (i === cr) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === LF) start = i + 2;
        } else {
          this.skipLeadingLf = true;
        }
        cr = text.indexOf('\r', start);
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    }
    this.append(text.slice(start));
    return lines;
  }

  private emit(lines: string[], piece: string): void {
    if (this.overflowing) {
      // The end of an over-long line, already counted: drop it whole.
    } else if (this.tail.length + piece.length > this.maxLineLength) {
      this.droppedLines++;
    } else {
      lines.push(this.tail + piece);
    }
    this.overflowing = false;
    this.tail = '';
  }

  private append(piece: string): void {
    if (this.overflowing) return;
    if (this.tail.length + piece.length > this.maxLineLength) {
      this.overflowing = true;
      this.droppedLines++;
      this.tail = '';
      return;
    }
    this.tail += piece;
  }

  /** Whatever followed the last line break, and forgets it. */
  protected takeTail(): string | undefined {
    const rest = this.overflowing ? '' : this.tail;
    this.tail = '';
    this.overflowing = false;
    return rest.length > 0 ? rest : undefined;
  }
}

/** SSE parser: feed raw chunks, get the events they complete. */
export class SseParser extends LineSplitter {
  private data: string[] = [];
  private eventType: string | undefined;
  private id: string | undefined;
  private sawLineSinceDispatch = false;

  push(chunk: string | Uint8Array): SseEvent[] {
    return this.consume(this.split(this.decode(chunk, false)));
  }

  /**
   * Ends the stream. The spec drops an event whose blank line never came; we dispatch it when
   * its last line was complete, because a usage event cut off just before the final "\n" still
   * says what was billed. An unterminated last line is dropped: it may be half a JSON object.
   */
  end(): SseEvent[] {
    const events = this.consume(this.split(this.decode('', true)));
    this.takeTail();
    if (this.sawLineSinceDispatch) {
      const last = this.dispatch();
      if (last !== undefined) events.push(last);
    }
    return events;
  }

  private consume(lines: string[]): SseEvent[] {
    const events: SseEvent[] = [];
    for (const line of lines) {
      if (line.length === 0) {
        const event = this.dispatch();
        if (event !== undefined) events.push(event);
        continue;
      }
      this.sawLineSinceDispatch = true;
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon >= 0 ? line.slice(0, colon) : line;
      let value = colon >= 0 ? line.slice(colon + 1) : '';
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.eventType = value;
      else if (field === 'id') this.id = value;
      // `retry` and unknown fields are ignored, as the spec says.
    }
    return events;
  }

  private dispatch(): SseEvent | undefined {
    const event: SseEvent | undefined =
      this.data.length > 0
        ? {
            data: this.data.join('\n'),
            ...(this.eventType !== undefined ? { event: this.eventType } : {}),
            ...(this.id !== undefined ? { id: this.id } : {}),
          }
        : undefined;
    this.data = [];
    this.eventType = undefined;
    this.sawLineSinceDispatch = false;
    return event;
  }
}

/** NDJSON splitter: feed raw chunks, get complete non-blank lines. */
export class NdjsonParser extends LineSplitter {
  push(chunk: string | Uint8Array): string[] {
    return this.split(this.decode(chunk, false)).filter((line) => line.trim().length > 0);
  }

  /** The last line even without a trailing newline; a stream cut mid-object yields a fragment. */
  end(): string[] {
    const lines = this.split(this.decode('', true)).filter((line) => line.trim().length > 0);
    const rest = this.takeTail();
    if (rest !== undefined && rest.trim().length > 0) lines.push(rest);
    return lines;
  }
}

/**
 * Splits a top-level JSON array arriving in pieces into the source text of its elements, so
 * each element can be parsed as soon as it is complete and a cut-off array still yields the
 * elements before the cut.
 */
export class JsonArrayStreamSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private depth = 0;
  private inString = false;
  private escaped = false;
  private current = '';
  private started = false;
  private overflowing = false;
  droppedElements = 0;

  constructor(private readonly maxElementLength: number = DEFAULT_MAX_LINE_LENGTH) {}

  push(chunk: string | Uint8Array): string[] {
    return this.scan(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream; an element still open is incomplete and is returned for the caller to reject. */
  end(): string[] {
    const out = this.scan(this.decoder.decode());
    const rest = this.current.trim();
    this.current = '';
    if (rest.length > 0 && !this.overflowing) out.push(rest);
    return out;
  }

  private scan(text: string): string[] {
    const out: string[] = [];
    // An element left open by the previous chunk continues from this chunk's first character.
    let start = this.depth > 1 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (!this.started) {
        if (ch === '[') {
          this.started = true;
          this.depth = 1;
        }
        continue;
      }
      // After the closing bracket there is nothing more to read.
      if (this.depth === 0) continue;
      if (this.depth === 1) {
        if (ch === '{' || ch === '[') {
          this.depth++;
          start = i;
          this.current = '';
        } else if (ch === '"') {
          // A scalar string element: skipped, but its brackets must not count.
          this.inString = true;
        } else if (ch === ']') {
          this.depth = 0;
        }
        // Commas, whitespace and scalars between elements carry nothing.
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 1) {
          this.finishElement(out, text.slice(start, i + 1));
          start = -1;
        }
      }
    }
    if (start >= 0 && this.depth > 1) this.grow(text.slice(start));
    return out;
  }

  private finishElement(out: string[], piece: string): void {
    if (!this.overflowing) out.push(this.current + piece);
    this.current = '';
    this.overflowing = false;
  }

  private grow(piece: string): void {
    if (this.overflowing) return;
    if (this.current.length + piece.length > this.maxElementLength) {
      this.overflowing = true;
      this.droppedElements++;
      this.current = '';
      return;
    }
    this.current += piece;
  }
}
