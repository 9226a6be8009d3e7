// The `encoded_jit_config` of generate-jitconfig, in the format actions/runner
// decodes in src/Runner.Listener/Runner.cs (ExecuteCommand, `--jitconfig`):
// base64 of a JSON object that maps config file names to base64 of each
// file's bytes; the runner writes each file into its root and then starts as
// if config.sh had configured it.
//
// The files are the ones the runner simulator's config.sh writes after a
// registration with this stand-in (standins/runner/config.ts), with the
// runner marked ephemeral (RunnerSettings.Ephemeral, Runner.Common/
// ConfigurationStore.cs; camelCase keys as the runner's JSON serializer
// writes them):
//   .runner                  settings (UTF-8 with a byte order mark, as config.sh's)
//   .credentials             OAuth scheme; holds the stand-in's runner token
//   .credentials_rsaparams   an RSA key (the runner's identity on GitHub; here only kept)
// GitHub's own JIT files differ in what only its service reads (server URLs,
// the OAuth client); the runner side (names, keys, ephemeral) is what matters.

import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { RunnerGroup, RunnerRecord, ScopeRef } from './state.ts';

const BOM = '\uFEFF';
const generateRsa = promisify(generateKeyPair);

/** The file names Runner.cs writes (HostContext.GetConfigFile: Runner, Credentials, RSACredentials). */
export const JIT_FILES = ['.runner', '.credentials', '.credentials_rsaparams'] as const;

async function rsaParams(): Promise<object> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  // RSAParameters as RSAFileKeyManager serializes them.
  return { d: jwk.d, dp: jwk.dp, dq: jwk.dq, exponent: jwk.e, inverseQ: jwk.qi, modulus: jwk.n, p: jwk.p, q: jwk.q };
}

/**
 * The encoded config for a just-registered JIT runner. `origin` is this
 * server's GITHUB_URL (scheme, host, port): the runner protocol lives under
 * `<origin>/_runner` (standins/github/PROTOCOL.md §2).
 */
export async function encodeJitConfig(opts: {
  runner: RunnerRecord;
  scope: ScopeRef;
  group: RunnerGroup;
  gitHubUrl: string;
  workFolder: string;
}): Promise<string> {
  const { runner, scope, group } = opts;
  if (runner.runnerToken === undefined) throw new Error('a JIT runner always has a runner token');
  const origin = new URL(opts.gitHubUrl).origin;
  const serverUrl = `${origin}/_runner`;
  const settings = {
    agentId: runner.id,
    agentName: runner.name,
    poolId: group.id,
    poolName: group.name,
    serverUrl,
    gitHubUrl: `${origin}/${scope.enterprise !== undefined ? `enterprises/${scope.enterprise}` : `${scope.org}${scope.repo === undefined ? '' : `/${scope.repo}`}`}`,
    workFolder: opts.workFolder,
    disableUpdate: false,
    ephemeral: true,
    isHostedServer: false,
  };
  const credentials = {
    scheme: 'OAuth',
    data: { clientId: String(runner.id), authorizationUrl: `${serverUrl}/sessions`, runnerToken: runner.runnerToken },
  };
  const files: Record<(typeof JIT_FILES)[number], string> = {
    '.runner': BOM + JSON.stringify(settings, null, 2),
    '.credentials': JSON.stringify(credentials, null, 2),
    '.credentials_rsaparams': JSON.stringify(await rsaParams(), null, 2),
  };
  const encoded = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, Buffer.from(text, 'utf8').toString('base64')]));
  return Buffer.from(JSON.stringify(encoded), 'utf8').toString('base64');
}
