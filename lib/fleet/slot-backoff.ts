// How long the ephemeral supervisor waits before filling a slot again after
// its container ended without running a job (a bad image, a refused JIT
// config, a crash at start): the schedule actions-runner-controller uses, and
// a slot that keeps failing is given up with one line instead of looping.

/** Seconds to wait before the 1st, 2nd, … retry after a pre-job failure (ARC's ephemeral runner backoff). */
export const PRE_JOB_BACKOFF_S = [0, 5, 10, 20, 40, 80] as const;

export type NextFill = { delayMs: number; failures: number } | { giveUp: true; failures: number };

/** Consecutive pre-job failures per slot; any job that runs resets its slot. */
export class SlotBackoff {
  private readonly failures = new Map<string, number>();

  /** A container of `slot` ended before its job started: when to fill it again, or give up. */
  failed(slot: string): NextFill {
    const failures = (this.failures.get(slot) ?? 0) + 1;
    this.failures.set(slot, failures);
    const seconds = PRE_JOB_BACKOFF_S[failures - 1];
    return seconds === undefined ? { giveUp: true, failures } : { delayMs: seconds * 1000, failures };
  }

  /** A job ran on `slot` (whatever its result): the slot is healthy again. */
  succeeded(slot: string): void {
    this.failures.delete(slot);
  }

  failuresOf(slot: string): number {
    return this.failures.get(slot) ?? 0;
  }
}
