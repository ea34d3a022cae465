/**
 * A minimal HTTP/1.1 keep-alive client over a raw TCP socket, for the load side of the bench.
 *
 * Why not `fetch` or autocannon: the bench needs the time to the first body chunk of a stream,
 * streams held open by the thousand, and a client whose own cost is small and identical for
 * every target (it shares the machine's two cores with the servers it measures). autocannon
 * reports whole-response latency only. This client writes one pre-built request and parses just
 * enough of the answer: the status line, `content-length` or `transfer-encoding: chunked`.
 */

export interface Timing {
  readonly status: number;
  /** ms from writing the request to the first byte of the body (a stream's first chunk). */
  readonly firstChunkMs: number;
  /** ms from writing the request to the end of the body. */
  readonly totalMs: number;
  readonly bodyBytes: number;
  /** The body, only when `keepBody` was asked for. */
  readonly body?: Uint8Array;
}

export interface SendOptions {
  readonly keepBody?: boolean;
  /** The connection is closed, and the send rejected, if the whole response takes longer (default 30 s). */
  readonly timeoutMs?: number;
  /** Called once, when the first body bytes arrive. */
  readonly onFirstChunk?: () => void;
}

const CR = 13;
const LF = 10;
const decoder = new TextDecoder();

/** A request serialised once and written as one buffer on every send. */
export const buildRequest = (
  port: number,
  path: string,
  body: Uint8Array,
  headers: Readonly<Record<string, string>>,
): Uint8Array => {
  const head = [`POST ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, `content-length: ${body.byteLength}`];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  const headBytes = new TextEncoder().encode(`${head.join("\r\n")}\r\n\r\n`);
  const out = new Uint8Array(headBytes.byteLength + body.byteLength);
  out.set(headBytes, 0);
  out.set(body, headBytes.byteLength);
  return out;
};

export class HttpConnection {
  private buffer = new Uint8Array(64 * 1024);
  /** Unparsed bytes are `buffer[start, end)`. */
  private start = 0;
  private end = 0;
  private closed = false;

  private constructor(private readonly conn: Deno.TcpConn) {}

  static async open(port: number): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new HttpConnection(conn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed by the peer
    }
  }

  /** Reads more bytes into the buffer; false at end of stream. */
  private async fill(): Promise<boolean> {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buffer.byteLength) {
      if (this.start > 0) {
        this.buffer.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        const bigger = new Uint8Array(this.buffer.byteLength * 2);
        bigger.set(this.buffer.subarray(0, this.end));
        this.buffer = bigger;
      }
    }
    const n = await this.conn.read(this.buffer.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  private indexOfCrlf(from: number): number {
    for (let i = from; i < this.end - 1; i++) {
      if (this.buffer[i] === CR && this.buffer[i + 1] === LF) return i;
    }
    return -1;
  }

  /** Writes `request`, reads one whole response. Rejects on a closed, malformed or timed-out connection. */
  async send(request: Uint8Array, options: SendOptions = {}): Promise<Timing> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, options.timeoutMs ?? 30_000);
    try {
      return await this.exchange(request, options);
    } catch (error) {
      throw timedOut ? new Error(`no complete response within ${options.timeoutMs ?? 30_000} ms`) : error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async exchange(request: Uint8Array, options: SendOptions): Promise<Timing> {
    const t0 = performance.now();
    let written = 0;
    while (written < request.byteLength) written += await this.conn.write(request.subarray(written));

    // Status line and headers.
    let headEnd = -1;
    for (;;) {
      const buf = this.buffer;
      for (let i = this.start; i < this.end - 3; i++) {
        if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) {
          headEnd = i;
          break;
        }
      }
      if (headEnd >= 0) break;
      if (!(await this.fill())) throw new Error("connection closed before the response head");
    }
    const head = decoder.decode(this.buffer.subarray(this.start, headEnd));
    this.start = headEnd + 4;
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const chunked = lower.includes("\r\ntransfer-encoding: chunked");
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    const keep: Uint8Array[] | undefined = options.keepBody ? [] : undefined;
    let firstChunkMs = -1;
    let bodyBytes = 0;
    const sawBody = () => {
      if (firstChunkMs < 0) {
        firstChunkMs = performance.now() - t0;
        options.onFirstChunk?.();
      }
    };
    /** Consumes `count` body bytes (one chunk, or a whole content-length body). */
    const readBytes = async (count: number, closedMessage: string) => {
      let remaining = count;
      while (remaining > 0) {
        if (this.start === this.end && !(await this.fill())) throw new Error(closedMessage);
        const take = Math.min(remaining, this.end - this.start);
        if (take > 0) {
          sawBody();
          keep?.push(this.buffer.slice(this.start, this.start + take));
          this.start += take;
          remaining -= take;
          bodyBytes += take;
        }
      }
    };

    if (status === 204 || status === 304) {
      // no body
    } else if (chunked) {
      for (;;) {
        let lineEnd = this.indexOfCrlf(this.start);
        while (lineEnd < 0) {
          if (!(await this.fill())) throw new Error("connection closed inside a chunked body");
          lineEnd = this.indexOfCrlf(this.start);
        }
        const size = parseInt(decoder.decode(this.buffer.subarray(this.start, lineEnd)), 16);
        if (Number.isNaN(size)) throw new Error("malformed chunk size");
        this.start = lineEnd + 2;
        if (size === 0) {
          // Trailer section: no trailers expected, only the closing CRLF.
          while (this.end - this.start < 2) {
            if (!(await this.fill())) throw new Error("connection closed after the last chunk");
          }
          this.start += 2;
          break;
        }
        await readBytes(size, "connection closed inside a chunk");
        while (this.end - this.start < 2) {
          if (!(await this.fill())) throw new Error("connection closed after a chunk");
        }
        this.start += 2;
      }
    } else if (lengthMatch) {
      await readBytes(Number(lengthMatch[1]), "connection closed inside a body");
    } else {
      throw new Error("response has neither content-length nor chunked encoding");
    }
    const totalMs = performance.now() - t0;
    if (firstChunkMs < 0) firstChunkMs = totalMs;
    if (/\r\nconnection:\s*close/.test(lower)) this.close();
    return { status, firstChunkMs, totalMs, bodyBytes, ...(keep ? { body: concat(keep) } : {}) };
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
};
