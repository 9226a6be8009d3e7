// Docker labels put on every container this toolkit creates. Later commands
// find their containers by these labels, never by parsing names.
export const LABEL = {
  managed: 'dev.gh-runner-fleet.managed',
  org: 'dev.gh-runner-fleet.org',
  repo: 'dev.gh-runner-fleet.repo',
  prefix: 'dev.gh-runner-fleet.prefix',
  kind: 'dev.gh-runner-fleet.kind',
  runner: 'dev.gh-runner-fleet.runner',
  board: 'dev.gh-runner-fleet.board',
  resource: 'dev.gh-runner-fleet.resource',
  /** A board runner's devices as `host[:container]`, comma-separated (make ps, make list). */
  devices: 'dev.gh-runner-fleet.devices',
  /** 'ephemeral' on the supervisor's slot containers (RUNNER_MODE=ephemeral); absent on persistent runners. */
  mode: 'dev.gh-runner-fleet.mode',
} as const;

export type RunnerKind = 'generic' | 'board';
