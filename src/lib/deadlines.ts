/**
 * Deadlines on one timer: every attempt's watchdog and every stream's keepalive.
 *
 * Deno's `setTimeout` makes a node-style `Timeout` in a timer list; arming and clearing one
 * cost 2-5 µs in the profiles, about 6 µs of a non-streamed request and 10 µs of a stream
 * (watchdog and keepalive). Here a deadline is rounded up to the next multiple of
 * `RESOLUTION_MS` and kept in that slot's `Set`, and a single timer is armed for the earliest
 * slot: arming and cancelling are a `Set` add and delete. A deadline fires up to
 * `RESOLUTION_MS` late, never early; with none left, no timer is pending.
 */

export const RESOLUTION_MS = 5;

/** The longest delay `setTimeout` takes as it is (a longer one would fire at once). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A deadline as armed; hand it back to `cancel`. */
export interface Deadline {
  readonly slot: number;
  readonly fire: () => void;
  cancelled: boolean;
}

class Deadlines {
  readonly #slots = new Map<number, Set<Deadline>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The slot the timer is armed for (`Infinity` when none is). */
  #armed = Infinity;

  /** Calls `fire` once `performance.now()` has reached `at`. */
  at(at: number, fire: () => void): Deadline {
    const slot = Math.ceil(at / RESOLUTION_MS);
    const deadline: Deadline = { slot, fire, cancelled: false };
    let due = this.#slots.get(slot);
    if (due === undefined) this.#slots.set(slot, due = new Set());
    due.add(deadline);
    if (slot < this.#armed) this.#arm(slot);
    return deadline;
  }

  /** Whether the timer is armed: never once nothing is due, so an idle gateway has no timer pending. */
  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  cancel(deadline: Deadline): void {
    deadline.cancelled = true;
    const due = this.#slots.get(deadline.slot);
    if (due === undefined || !due.delete(deadline)) return;
    if (due.size > 0) return;
    this.#slots.delete(deadline.slot);
    // An armed timer for an emptied slot finds the next one when it fires; with none left, it goes.
    if (this.#slots.size === 0) this.#disarm();
  }

  #arm(slot: number): void {
    this.#disarm();
    this.#armed = slot;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, slot * RESOLUTION_MS - performance.now()));
    this.#timer = setTimeout(this.#run, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armed = Infinity;
  }

  readonly #run = (): void => {
    this.#timer = undefined;
    this.#armed = Infinity;
    const passed = Math.floor(performance.now() / RESOLUTION_MS);
    const fired: Array<[number, Set<Deadline>]> = [];
    for (const [slot, due] of this.#slots) {
      if (slot > passed) continue;
      this.#slots.delete(slot);
      fired.push([slot, due]);
    }
    // Slots are kept in the order they were first armed; a timer that fired late (a busy event
    // loop) may find several passed, and they fire earliest first.
    if (fired.length > 1) fired.sort((a, b) => a[0] - b[0]);
    // A callback may arm a deadline (in a later slot) or cancel one; the timer is armed after.
    for (const [, due] of fired) for (const deadline of due) if (!deadline.cancelled) deadline.fire();
    let next = Infinity;
    for (const slot of this.#slots.keys()) if (slot < next) next = slot;
    if (next < this.#armed) this.#arm(next);
  };
}

/** The process's deadlines. */
export const deadlines = new Deadlines();
