#!/usr/bin/env -S node --import tsx
// `make locks`: who holds each shared resource and who waits, in order.
//   ./scripts/locks.ts [--json]                     list
//   ./scripts/locks.ts release RESOURCE --force     operator override, recorded in locks.log
// As root: the records are root's (mode 0600). --json keeps every value as
// recorded, with anything outside printable ASCII escaped (lock/display.ts).
import { loadLockHostPath } from '../lib/config/config.ts';
import { asciiJson } from '../lock/display.ts';
import { ConfigError, runCli } from '../core/errors.ts';
import { formatLockReport, lockReport, releaseLock } from '../lib/fleet/locks-report.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({ json: { type: 'boolean' }, force: { type: 'boolean' } });
  const dir = await loadLockHostPath();
  const [command = 'list', resource] = positionals;
  if (command === 'release') return console.log(await releaseLock(dir, resource, values.force ?? false));
  if (command !== 'list') throw new ConfigError(`unknown command ${command}: use locks [--json] or locks release RESOURCE --force`);
  const resources = await lockReport(dir);
  console.log(values.json ? asciiJson({ lockDir: dir, resources }) : formatLockReport(dir, resources));
});
