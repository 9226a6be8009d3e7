// Docker labels put on every container this toolkit creates. Later commands
// find their containers by these labels, never by parsing names.
import type { Scope } from '../config/config.ts';

export const LABEL = {
  managed: 'dev.gh-runner-fleet.managed',
  org: 'dev.gh-runner-fleet.org',
  repo: 'dev.gh-runner-fleet.repo',
  /** An enterprise fleet's containers carry this one instead of org and repo. */
  enterprise: 'dev.gh-runner-fleet.enterprise',
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

/** The labels naming a container's scope: org and repo (empty for an org's runners), or enterprise alone. */
export function scopeLabels(scope: Scope): Record<string, string> {
  if (scope.enterprise !== undefined) return { [LABEL.enterprise]: scope.enterprise };
  return { [LABEL.org]: scope.org, [LABEL.repo]: scope.repo ?? '' };
}

/** Whether a container's labels name this scope (org and enterprise slugs in any case, as GitHub compares them). */
export function labelsMatchScope(labels: Record<string, string>, scope: Scope): boolean {
  const org = (labels[LABEL.org] ?? '').toLowerCase();
  const enterprise = (labels[LABEL.enterprise] ?? '').toLowerCase();
  if (scope.enterprise !== undefined) return enterprise === scope.enterprise.toLowerCase() && org === '';
  return enterprise === '' && org === scope.org.toLowerCase() && (labels[LABEL.repo] ?? '') === (scope.repo ?? '');
}

/** The scope a container's labels name, for messages: `org acme`, `repo acme/widgets` or `enterprise octo`. */
export function labelledScope(labels: Record<string, string>): string {
  if (labels[LABEL.enterprise]) return `enterprise ${labels[LABEL.enterprise]}`;
  return labels[LABEL.repo] ? `repo ${labels[LABEL.org]}/${labels[LABEL.repo]}` : `org ${labels[LABEL.org] ?? '?'}`;
}
