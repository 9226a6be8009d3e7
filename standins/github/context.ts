// What every route module shares: the state, the spec, accounting, faults and
// the record of spec violations.

import type { Calls, RateLimiter } from './accounting.ts';
import type { Apps } from './apps.ts';
import type { Faults } from './faults.ts';
import type { Spec } from './spec.ts';
import type { State } from './state.ts';

export interface Violation {
  at: string;
  kind: 'request' | 'response';
  operation_id: string;
  method: string;
  path: string;
  status?: number;
  errors: string[];
}

/** Test-only: rewrites the body of the next response of an operation (proves validation bites). */
export type Corruption = (body: unknown) => unknown;

export interface Context {
  /** This server's GITHUB_URL (registration URLs must be on it). */
  gitHubUrl: string;
  state: State;
  /** GitHub Apps, their installations and installation tokens. */
  apps: Apps;
  spec: Spec;
  calls: Calls;
  rateLimiter: RateLimiter;
  faults: Faults;
  violations: Violation[];
  corruptions: Map<string, Corruption>;
}
