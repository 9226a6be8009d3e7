// Fault injection for the REST API: the next `times` matching calls fail the
// way GitHub fails (rate limits, outages, slowness, credentials), so the
// toolkit's throttling/retry handling can be tested.

import { rateLimitHeaders, PAT_LIMIT } from './accounting.ts';
import { githubError, type Reply } from './http.ts';

export const FAULT_KINDS = [
  'rate_limit', // primary limit: 403, x-ratelimit-remaining 0, x-ratelimit-reset, retry-after
  'secondary_rate_limit', // 403 "secondary rate limit" + retry-after
  'server_error', // 500 (or `status`: 502/503)
  'slow', // answers normally after delay_ms
  'bad_credentials', // 401 although the PAT is valid (revoked mid-run)
  'wrong_token', // token operations answer 201 with a token the runner protocol rejects
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  operation?: string;
  kind: FaultKind;
  times?: number; // default 1
  delay_ms?: number; // slow: default 1000
  retry_after?: number; // seconds, rate limits: default 1
  status?: number; // server_error: 500 (default), 502, 503
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

const TOKEN_OPERATION = /^actions\/create-(registration|remove)-token-for-/;

export class Faults {
  private active: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind: ${String(spec.kind)}`);
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error('times must be a positive integer');
    if (spec.kind === 'server_error' && spec.status !== undefined && ![500, 502, 503].includes(spec.status)) {
      throw new Error('server_error status must be 500, 502 or 503');
    }
    this.active.push({ ...spec, remaining: times });
  }

  clear(): void {
    this.active = [];
  }

  pending(): FaultSpec[] {
    return this.active.map(({ remaining, ...spec }) => ({ ...spec, times: remaining }));
  }

  /** Takes (consumes one use of) the first fault that applies to this operation. */
  take(operationId: string): FaultSpec | undefined {
    const fault = this.active.find(
      (f) => (f.operation === undefined || f.operation === operationId) && (f.kind !== 'wrong_token' || TOKEN_OPERATION.test(operationId)),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.active = this.active.filter((f) => f !== fault);
    return fault;
  }
}

/** The reply for a failing fault (not for `slow` / `wrong_token`, which alter a normal answer). */
export function faultReply(fault: FaultSpec, normalRateHeaders: Record<string, string>): Reply | undefined {
  const retryAfter = fault.retry_after ?? 1;
  switch (fault.kind) {
    case 'rate_limit': {
      const reset = Math.floor(Date.now() / 1000) + retryAfter;
      const reply = githubError(
        403,
        'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      );
      reply.headers = { ...rateLimitHeaders(PAT_LIMIT, 0, PAT_LIMIT, reset), 'retry-after': String(retryAfter) };
      return reply;
    }
    case 'secondary_rate_limit': {
      const reply = githubError(
        403,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      );
      reply.headers = { ...normalRateHeaders, 'retry-after': String(retryAfter) };
      return reply;
    }
    case 'server_error': {
      const status = fault.status ?? 500;
      const reply = githubError(status, status === 500 ? 'Server Error' : status === 502 ? 'Bad Gateway' : 'Service Unavailable');
      reply.headers = normalRateHeaders;
      return reply;
    }
    case 'bad_credentials': {
      const reply = githubError(401, 'Bad credentials');
      reply.headers = normalRateHeaders;
      return reply;
    }
    case 'slow':
    case 'wrong_token':
      return undefined;
  }
}
