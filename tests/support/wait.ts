// The one polling helper of the tests: unit, script and end-to-end suites alike.
import { inspect } from 'node:util';

export interface WaitOptions {
  /** Fails after this long (default 30 s). */
  timeoutMs?: number;
  /**
   * The longest pause between two checks (default 250 ms). The first checks
   * come sooner (25 ms, then twice as long each time up to this), so a quick
   * condition is seen at once and a slow one (a docker CLI call) is not run
   * in a tight loop.
   */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns something other than undefined or false, and
 * returns that. After `timeoutMs` it throws, naming `what` and the last value
 * `check` returned (or the error it last threw: a throwing check is retried).
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 250 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = Math.min(25, intervalMs);
  let last: { value: unknown } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${lastSeen(last)}`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, intervalMs);
  }
}

function lastSeen(last: { value: unknown } | { error: unknown } | undefined): string {
  if (last === undefined) return 'never checked';
  if ('error' in last) return `the last check threw: ${last.error instanceof Error ? last.error.message : inspect(last.error)}`;
  return `the last check returned ${inspect(last.value, { depth: 2, breakLength: Infinity })}`;
}
