// Call counts per operationId (tests assert "250 runners listed in 3 calls")
// and GitHub's primary rate limit with its x-ratelimit-* headers.

export interface CallCounts {
  total: number;
  by_operation: Record<string, number>;
}

export class Calls {
  private counts = new Map<string, number>();

  record(operationId: string): void {
    this.counts.set(operationId, (this.counts.get(operationId) ?? 0) + 1);
  }

  snapshot(): CallCounts {
    const by_operation: Record<string, number> = {};
    let total = 0;
    for (const [op, n] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      by_operation[op] = n;
      total += n;
    }
    return { total, by_operation };
  }

  reset(): void {
    this.counts.clear();
  }
}

const WINDOW_S = 3600;
export const PAT_LIMIT = 5000; // requests/hour for a PAT
export const ANON_LIMIT = 60; // requests/hour without (valid) credentials

interface Bucket {
  limit: number;
  used: number;
  resetAt: number; // epoch seconds
}

export interface RateLimitState {
  headers: Record<string, string>;
  exhausted: boolean;
  resetAt: number;
}

/** One bucket per PAT (and one for anonymous callers), an hour-long window from first use. */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();

  consume(identity: string | undefined): RateLimitState {
    const key = identity ?? '';
    const now = Math.floor(Date.now() / 1000);
    let b = this.buckets.get(key);
    if (!b || b.resetAt <= now) {
      b = { limit: identity === undefined ? ANON_LIMIT : PAT_LIMIT, used: 0, resetAt: now + WINDOW_S };
      this.buckets.set(key, b);
    }
    const exhausted = b.used >= b.limit;
    if (!exhausted) b.used++;
    return { headers: rateLimitHeaders(b.limit, b.limit - b.used, b.used, b.resetAt), exhausted, resetAt: b.resetAt };
  }
}

export function rateLimitHeaders(limit: number, remaining: number, used: number, reset: number): Record<string, string> {
  return {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-used': String(used),
    'x-ratelimit-reset': String(reset),
    'x-ratelimit-resource': 'core',
  };
}
