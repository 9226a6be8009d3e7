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
} as const;

export type RunnerKind = 'generic' | 'board';
