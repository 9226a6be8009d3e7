// make service: a systemd unit that keeps one fleet's supervisor running.
// Restart=always brings it back after a crash or kill -9 (crash-only: it
// resumes from Docker and GitHub); a clean stop (make stop's SIGTERM, exit 0)
// is not undone, which RestartPreventExitStatus=0 says.
import { dirname } from 'node:path';
import type { Config } from '../config/config.ts';
import { scopeName } from '../config/names.ts';

export interface ServiceUnit {
  /** The unit's file name, e.g. gh-runner-fleet-lab-acme.service. */
  name: string;
  text: string;
}

export interface UnitFacts {
  /** The repository's root: the scripts and node_modules (tsx) are there. */
  repoRoot: string;
  /** The node the scripts run on (absolute). */
  node: string;
  /** Generic slots (-n). */
  count: number;
}

/** A value with systemd's specifiers switched off: '%' is written '%%'. */
function literal(text: string): string {
  return text.replaceAll('%', '%%');
}

/** systemd quoting for one word of ExecStart= / Environment=: double quotes, backslash and quote escaped. */
function quote(word: string): string {
  return `"${literal(word).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function serviceUnit(config: Pick<Config, 'envFile' | 'projectName' | 'scope'>, facts: UnitFacts): ServiceUnit {
  const scope = scopeName(config.scope);
  const text = [
    '# Written by gh-runner-fleet (make service). Regenerate it after changing N.',
    '[Unit]',
    `Description=gh-runner-fleet supervisor of ${scope} (${config.envFile})`,
    'Wants=network-online.target docker.service',
    'After=network-online.target docker.service',
    '',
    '[Service]',
    'Type=simple',
    // Taken as it is (no quotes): a path with spaces needs none.
    `WorkingDirectory=${literal(facts.repoRoot)}`,
    `Environment=${quote(`ENV_FILE=${config.envFile}`)}`,
    `Environment=${quote(`PATH=${dirname(facts.node)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`)}`,
    `ExecStart=${[facts.node, '--import', 'tsx', `${facts.repoRoot}/scripts/supervise.ts`, '-n', String(facts.count)].map(quote).join(' ')}`,
    'Restart=always',
    'RestartSec=5',
    'RestartPreventExitStatus=0',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return { name: `gh-runner-fleet-${config.projectName}.service`, text };
}
