/**
 * Ctrl-C in two steps for long commands (bench, tune, run): the first SIGINT asks the work to stop
 * after the measurement in progress, so what was measured is kept (results written, the tuning
 * database folded) and the command says how to resume; a second SIGINT stops at once. Library
 * code sees the request through an AbortSignal; nothing here exits by itself on the first one.
 */
const controller = new AbortController();
let installed = false;

/** Exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT = 130;

/**
 * Installs the two-step handler (once per process) and returns the signal that the first Ctrl-C
 * aborts. `notice` is told when stopping begins, with `stopping` (what the command does then).
 */
export function gracefulInterrupts(notice: (s: string) => void, stopping = 'stopping after the measurement in progress; what was measured is kept'): AbortSignal {
  if (!installed) {
    installed = true;
    process.on('SIGINT', () => {
      if (!controller.signal.aborted) {
        notice(`neotune: ${stopping} (Ctrl-C again to stop now, losing it)`);
        controller.abort(new Error('interrupted'));
        return;
      }
      process.stderr.write('neotune: stopped by SIGINT\n');
      process.exit(INTERRUPTED_EXIT);
    });
  }
  return controller.signal;
}

/** Whether a two-step handler owns SIGINT (the browser harness then leaves the first one to it). */
export function interruptsAreGraceful(): boolean {
  return installed;
}
