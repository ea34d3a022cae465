/**
 * The shared deadline timer behind every watchdog and keepalive: order, cancellation, and no
 * timer left pending once nothing is due.
 */
import assert from "node:assert/strict";
import { deadlines } from "../src/lib/deadlines.ts";

Deno.test("deadlines fire in time order, each once, and a cancelled one never fires", async () => {
  const fired: string[] = [];
  const now = performance.now();
  let last!: () => void;
  const done = new Promise<void>((resolve) => (last = resolve));
  deadlines.at(now + 30, () => {
    fired.push("c");
    last();
  });
  const cancelled = deadlines.at(now + 12, () => fired.push("cancelled"));
  deadlines.at(now + 20, () => fired.push("b"));
  deadlines.at(now + 1, () => fired.push("a"));
  deadlines.cancel(cancelled);
  await done;
  assert.deepEqual(fired, ["a", "b", "c"]);
});

Deno.test("a deadline armed while another fires is kept, and fires later", async () => {
  const fired: string[] = [];
  const done = new Promise<void>((resolve) => {
    deadlines.at(performance.now() + 1, () => {
      fired.push("first");
      deadlines.at(performance.now() + 10, () => {
        fired.push("second");
        resolve();
      });
    });
  });
  await done;
  assert.deepEqual(fired, ["first", "second"]);
});

Deno.test("cancelling every deadline leaves no timer pending", () => {
  const far = [1, 2, 3].map((minutes) => deadlines.at(performance.now() + minutes * 60_000, () => {}));
  assert.equal(deadlines.timerArmed, true);
  for (const deadline of far.slice(1)) deadlines.cancel(deadline);
  assert.equal(deadlines.timerArmed, true, "one deadline is still due");
  deadlines.cancel(far[0]);
  deadlines.cancel(far[0]);
  assert.equal(deadlines.timerArmed, false);
});
