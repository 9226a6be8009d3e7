// CLI of the GitHub stand-in, for trying the toolkit by hand and for scripts:
// serves it until SIGTERM/SIGINT.
//
//   npx tsx standins/github/main.ts [--port N] [--offline-after-ms 5000]
//       [--scope acme --scope acme/widgets --pat TOKEN:acme,acme/widgets]
//       [--scope enterprise:octo --pat TOKEN:enterprise:octo]
//
// Without --port it listens as startGitHubStandIn does by default: as root, on
// port 80 of a random loopback address, so that GITHUB_URL has no port (the
// runner simulator, like actions/runner, drops a GHES URL's port when it
// registers); otherwise on a free port of 127.0.0.1, where the toolkit's own
// calls work but a runner cannot register. --port 0 asks for a free port.
//
// The first two lines are GITHUB_URL=… and GITHUB_API_URL=… (parseable by
// scripts); what follows says how to point an env file at it.
import { parseArgs } from 'node:util';
import { startGitHubStandIn } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'offline-after-ms': { type: 'string' },
    scope: { type: 'string', multiple: true, default: [] },
    pat: { type: 'string', multiple: true, default: [] },
  },
});

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
  process.stderr.write(`error: --port must be a port number, got ${values.port}\n`);
  process.exit(2);
}
const offline = values['offline-after-ms'];
const github = await startGitHubStandIn({ ...(port === undefined ? {} : { port }), ...(offline === undefined ? {} : { offlineAfterMs: Number(offline) }) });
for (const scope of values.scope) github.addScope(scope);
for (const pat of values.pat) {
  // TOKEN:scope,scope — the first ':' ends the token (an enterprise scope has one of its own).
  const at = pat.indexOf(':');
  const [token, admin] = at === -1 ? [pat, ''] : [pat.slice(0, at), pat.slice(at + 1)];
  github.addPat({ token, admin: admin.split(',').filter((a) => a !== '') });
}

const hasPort = new URL(github.url).port !== '';
const [firstScope] = values.scope;
const [firstPat] = values.pat;
const scopeLine = (scope: string): string => {
  if (scope.toLowerCase().startsWith('enterprise:')) return `ENTERPRISE=${scope.slice('enterprise:'.length)}`;
  return scope.includes('/') ? `ORG=${scope.split('/')[0]}\nREPO=${scope.split('/')[1]}` : `ORG=${scope}`;
};
const scopeLines = firstScope ? [scopeLine(firstScope)] : ['ORG=<a scope given with --scope>'];
process.stdout.write(
  [
    `GITHUB_URL=${github.url}`,
    `GITHUB_API_URL=${github.apiUrl}`,
    '',
    '# The GitHub stand-in (not GitHub) is listening. To point a fleet at it, put these in its env file:',
    ...`GITHUB_URL=${github.url}\nGITHUB_API_URL=${github.apiUrl}\n${scopeLines.join('\n')}\nGH_PAT=${firstPat ? firstPat.split(':')[0] : '<a token given with --pat>'}`
      .split('\n')
      .map((line) => `#   ${line}`),
    ...(hasPort
      ? [
          "# This address has a port: the toolkit's own calls work, but a runner cannot register (actions/runner drops the port of a GHES URL). Run as root without --port for a portless address.",
        ]
      : []),
    '# Stop it with Ctrl-C.',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const violations = github.violations.length;
  if (violations > 0) process.stderr.write(`github stand-in: ${violations} spec violation(s) recorded\n`);
  void github.close().then(() => process.exit(violations > 0 ? 1 : 0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
