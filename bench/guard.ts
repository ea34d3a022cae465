/**
 * Runs one bench server (mock, floor or gateway) and makes sure it dies with the bench.
 *
 * The bench talks to this guard over a stdin pipe. When the bench ends in any way, even
 * SIGKILL, the pipe closes and the guard stops its child: SIGTERM, then SIGKILL after a grace
 * period. It also stops the child on SIGTERM/SIGINT and after a hard deadline, so no server
 * outlives a bench run. First line on stdout: `{"guard_child_pid":PID}`; the child's own
 * stdout and stderr pass through.
 *
 * Usage: `deno run --allow-run bench/guard.ts <deadlineMs> <deno args...>`
 */

const [deadlineArg, ...args] = Deno.args;
const deadlineMs = Number(deadlineArg);
if (!Number.isFinite(deadlineMs) || args.length === 0) throw new Error("usage: guard.ts <deadlineMs> <deno args...>");

const child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "inherit", stderr: "inherit" })
  .spawn();
console.log(JSON.stringify({ guard_child_pid: child.pid }));

let stopping = false;
const stop = async (): Promise<never> => {
  if (!stopping) {
    stopping = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 1_500);
    await child.status;
    clearTimeout(killer);
  }
  Deno.exit(0);
};

Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
setTimeout(stop, deadlineMs);

child.status.then((status) => Deno.exit(stopping ? 0 : status.code));

// The bench holds the write end of our stdin: end of file means the bench is gone.
(async () => {
  const buffer = new Uint8Array(256);
  try {
    while ((await Deno.stdin.read(buffer)) !== null) {
      // the bench never writes; anything read is ignored
    }
  } catch {
    // a broken pipe is the same news
  }
  await stop();
})();
