/**
 * What is still running after its response was returned: open SSE streams,
 * and detached work (settling a stream's usage once it ended). The open-streams
 * gauge reads it, and graceful shutdown waits on it.
 *
 * Shutdown: let open streams finish for up to a grace period, then end the
 * rest with an error frame (through `shutdownSignal`, which `sse_body.ts`
 * watches), then wait until every detached settlement has completed, so no
 * finished request's usage is lost.
 */
import * as Effect from "effect/Effect";
import { GatewayError } from "../errors/GatewayError.ts";

/** The error frame a stream gets when the gateway ends it at shutdown. */
export const shuttingDown = () =>
  new GatewayError({
    status: 503,
    type: "server_error",
    message: "The gateway is shutting down; the stream was ended before it finished. Retry the request.",
    param: null,
    code: "gateway_shutting_down",
  });

export class Inflight {
  #streams = 0;
  #detached = 0;
  readonly #ending = new AbortController();
  #waiters: Array<() => void> = [];
  #closing = false;

  /** Aborted (with a `GatewayError` as its reason) when open streams must end now. */
  get shutdownSignal(): AbortSignal {
    return this.#ending.signal;
  }

  get openStreams(): number {
    return this.#streams;
  }

  /** Order-proof: a stream ended in the same turn it opened may report its close first. */
  streamOpened(): void {
    this.#streams++;
    this.#wake();
  }

  streamClosed(): void {
    this.#streams--;
    this.#wake();
  }

  /** Counts `effect` as pending from now until it completes; run the result detached. */
  detached(effect: Effect.Effect<void>): Effect.Effect<void> {
    this.#detached++;
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        this.#detached--;
        this.#wake();
      }),
    );
  }

  /**
   * Waits for open streams to end, up to `graceMs`; ends the rest with an
   * error frame; then waits for them and all detached work to complete.
   * Calling it again (a second signal) ends the streams at once.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.#closing) {
      this.endStreams();
      return this.idle();
    }
    this.#closing = true;
    if (this.#streams > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([this.#until(() => this.#streams === 0), graceOver]);
      clearTimeout(timer);
    }
    this.endStreams();
    await this.idle();
  }

  /** Ends every open stream now with an error frame. */
  endStreams(): void {
    if (!this.#ending.signal.aborted) this.#ending.abort(shuttingDown());
  }

  /** Resolves once every detached settlement has completed. */
  settled(): Promise<void> {
    return this.#until(() => this.#detached === 0);
  }

  /** Resolves once nothing is pending (open streams or detached work). */
  idle(): Promise<void> {
    return this.#until(() => this.#streams === 0 && this.#detached === 0);
  }

  #until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (done()) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
