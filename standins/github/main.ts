// CLI for e2e runs and demos: serves the emulator until SIGTERM/SIGINT.
//
//   npx tsx standins/github/main.ts --port 8080 [--offline-after-ms 5000]
//       [--scope acme --scope acme/widgets --pat TOKEN:acme,acme/widgets]
//
// Prints GITHUB_URL=… and GITHUB_API_URL=… lines (parseable by e2e scripts).

import { parseArgs } from 'node:util';
import { startEmulator } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'offline-after-ms': { type: 'string' },
    scope: { type: 'string', multiple: true, default: [] },
    pat: { type: 'string', multiple: true, default: [] },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`error: --port must be a port number, got ${values.port}\n`);
  process.exit(2);
}
const offline = values['offline-after-ms'];
const emulator = await startEmulator({ port, ...(offline === undefined ? {} : { offlineAfterMs: Number(offline) }) });
for (const scope of values.scope) emulator.addScope(scope);
for (const pat of values.pat) {
  const [token = '', admin = ''] = pat.split(':');
  emulator.addPat({ token, admin: admin.split(',').filter((a) => a !== '') });
}
process.stdout.write(`GITHUB_URL=${emulator.url}\nGITHUB_API_URL=${emulator.apiUrl}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const violations = emulator.violations.length;
  if (violations > 0) process.stderr.write(`emulator: ${violations} spec violation(s) recorded\n`);
  void emulator.close().then(() => process.exit(violations > 0 ? 1 : 0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
