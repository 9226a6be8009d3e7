// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// `config.sh` and `config.sh remove`: register the runner through the GitHub
// (stand-in) runner-registration endpoint with a registration token, then
// write .runner / .credentials / .credentials_rsaparams; or unregister with a
// remove token and delete them (`remove --local`: only delete them). The
// token is never printed. (Runner.Listener/Configuration/ConfigurationManager.cs)
import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { type CommandLine, required } from './args.ts';
import { HttpError, field, request } from './http.ts';
import * as store from './store.ts';
import { RunnerError, term } from './terminal.ts';
import { envTrue } from './trace.ts';

interface TenantCredential {
  /** `<origin>/_runner`: where the runner protocol lives. */
  serverUrl: string;
  /** Short-lived token for /_runner/agents calls. */
  token: string;
}

/**
 * Runner.Sdk/Util/UrlUtil.cs (IsHostedServer): github.com, www.github.com,
 * github.localhost, *.ghe.localhost and *.ghe.com are GitHub-hosted (API on
 * an `api.` host); anything else is GitHub Enterprise Server (API under
 * /api/v3), and GITHUB_ACTIONS_RUNNER_FORCE_GHES=true forces GHES.
 */
function isHostedServer(url: URL): boolean {
  if (envTrue(process.env.GITHUB_ACTIONS_RUNNER_FORCE_GHES)) return false;
  const host = url.hostname.toLowerCase();
  return host === 'github.com' || host === 'www.github.com' || host === 'github.localhost' || host.endsWith('.ghe.com') || host.endsWith('.ghe.localhost');
}

/**
 * The runner-registration URL, as Runner.Listener/Configuration/
 * ConfigurationManager.cs (GetTenantCredential) builds it: scheme + host
 * (UriBuilder.Host: never the port, for github.com and GHES alike) +
 * `/api/v3/actions/runner-registration` (GHES) or `api.<host>/actions/
 * runner-registration` (hosted). A GHES on a non-default port is therefore
 * called on the scheme's default port (80/443).
 */
export function registrationUrl(gitHubUrl: string): string {
  const url = new URL(gitHubUrl);
  const host = url.hostname; // without the port, like UriBuilder.Host
  return isHostedServer(url) ? `${url.protocol}//api.${host}/actions/runner-registration` : `${url.protocol}//${host}/api/v3/actions/runner-registration`;
}

async function tenantCredential(gitHubUrl: string, token: string, event: 'register' | 'remove'): Promise<TenantCredential> {
  const res = await request('POST', registrationUrl(gitHubUrl), {
    auth: `RemoteAuth ${token}`,
    body: { url: gitHubUrl, runner_event: event },
  });
  return { serverUrl: field(res.json, 'url'), token: field(res.json, 'token') };
}

/** An RSA key like the real runner keeps (it proves the runner's identity there; here it is only kept). */
function rsaParams(): object {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { d: jwk.d, dp: jwk.dp, dq: jwk.dq, exponent: jwk.e, inverseQ: jwk.qi, modulus: jwk.n, p: jwk.p, q: jwk.q };
}

function parseLabels(value: string | undefined): string[] {
  const labels = (value ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  // Case-insensitively unique, first spelling wins (the real runner uses a case-insensitive set).
  return labels.filter((l, i) => labels.findIndex((o) => o.toLowerCase() === l.toLowerCase()) === i);
}

/** Runner.Listener/Program.cs: unknown options are reported on stderr and the command goes on. */
export function warnUnknown(cli: CommandLine): void {
  if (cli.unknown.length === 0) return;
  const args = `'${cli.unknown.join(', ')}'. For usage refer to: .\\config.cmd --help or ./config.sh --help`;
  term.error(
    cli.command === ''
      ? `This command does not recognize the command-line input arguments: ${args}`
      : `Unrecognized command-line input arguments for command ${cli.command}: ${args}`,
  );
}

export async function configure(cli: CommandLine, root: string): Promise<void> {
  term.line('--------------------------------------------------------------------------------');
  term.line('|        Self-hosted runner registration (simulator standing in for           |');
  term.line('|        actions/runner; see standins/runner)                                 |');
  term.line('--------------------------------------------------------------------------------');
  if (store.isConfigured(root)) {
    throw new RunnerError(
      "Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.sh remove' or './config.sh remove --token TOKEN' first.",
    );
  }

  term.section('Authentication');
  const gitHubUrl = required(cli, 'url');
  const token = required(cli, 'token');
  const tenant = await tenantCredential(gitHubUrl, token, 'register');
  term.line();
  term.success('Connected to GitHub');

  term.section('Runner Registration');
  const poolName = cli.arg('runnergroup') ?? 'Default';
  const name = required(cli, 'name', hostname());
  const labels = parseLabels(cli.arg('labels'));
  const ephemeral = cli.flag('ephemeral');
  const res = await request('POST', `${tenant.serverUrl}/agents`, {
    auth: `Bearer ${tenant.token}`,
    body: {
      name,
      labels,
      runner_group: poolName,
      replace: cli.flag('replace'),
      ephemeral,
      no_default_labels: cli.flag('no-default-labels'),
      os: 'Linux',
      work_folder: cli.arg('work') ?? '_work',
    },
  }).catch((err: unknown) => {
    // The real runner words a name clash this way when it may not replace.
    if (err instanceof HttpError && err.status === 409) {
      throw new RunnerError(`A runner exists with the same name ${name}.`);
    }
    throw err;
  });
  const agentId = Number(field(res.json, 'id'));
  // The group as the server names it (ConfigurationManager.cs keeps the pool's id and name).
  const group = (res.json as { runner_group?: { id?: unknown; name?: unknown } }).runner_group;
  const poolId = typeof group?.id === 'number' ? group.id : 1;
  const groupName = typeof group?.name === 'string' ? group.name : poolName;
  const credentials = (res.json as { credentials?: { runner_token?: unknown } }).credentials;
  if (typeof credentials?.runner_token !== 'string') throw new Error('unexpected answer from the server: no runner_token');
  term.success(cli.flag('replace') ? 'Runner successfully added (replacing any runner of that name)' : 'Runner successfully added');

  store.saveCredentials(
    root,
    {
      scheme: 'OAuth',
      data: { clientId: String(agentId), authorizationUrl: `${tenant.serverUrl}/sessions`, runnerToken: credentials.runner_token },
    },
    rsaParams(),
  );
  term.success('Runner connection is good');

  term.section('Runner settings');
  store.saveSettings(root, {
    agentId,
    agentName: name,
    poolId,
    poolName: groupName,
    serverUrl: tenant.serverUrl,
    gitHubUrl,
    workFolder: cli.arg('work') ?? '_work',
    disableUpdate: cli.flag('disableupdate'),
    ephemeral,
    isHostedServer: isHostedServer(new URL(gitHubUrl)),
  });
  term.line();
  term.success('Settings Saved.');
  term.line();
}

/**
 * ConfigurationManager.cs DeleteLocalRunnerConfig: .credentials (with the RSA
 * key file), then .runner, each reported; after an ephemeral runner's job,
 * after the server forgot the runner, and for `config.sh remove --local`.
 */
export function deleteLocalRunnerConfig(root: string): void {
  const configured = store.isConfigured(root);
  if (store.hasCredentials(root)) {
    store.deleteCredentials(root);
    term.success('Removed .credentials');
  } else {
    term.line('Does not exist. Skipping Removing .credentials');
  }
  if (configured) {
    store.deleteSettings(root);
    term.success('Removed .runner');
  } else {
    term.line('Does not exist. Skipping Removing .runner');
  }
}

export async function remove(cli: CommandLine, root: string): Promise<void> {
  if (cli.flag('local')) {
    // Runner.cs: `remove --local` only deletes the local config files.
    deleteLocalRunnerConfig(root);
    return;
  }
  term.section('Runner removal');
  let action = 'Removing runner from the server';
  try {
    const configured = store.isConfigured(root);
    const withCredentials = store.hasCredentials(root);
    if (configured && withCredentials) {
      const settings = store.loadSettings(root);
      const tenant = await tenantCredential(settings.gitHubUrl, required(cli, 'token'), 'remove');
      await request('DELETE', `${tenant.serverUrl}/agents/${settings.agentId}`, { auth: `Bearer ${tenant.token}` });
      term.line();
      term.success('Runner removed successfully');
    } else {
      term.line('Cannot connect to server, because config files are missing. Skipping removing runner from the server.');
    }

    action = 'Removing .credentials';
    if (withCredentials) {
      store.deleteCredentials(root);
      term.success('Removed .credentials');
    } else {
      term.line(`Does not exist. Skipping ${action}`);
    }

    action = 'Removing .runner';
    if (configured) {
      store.deleteSettings(root);
      term.success('Removed .runner');
    } else {
      term.line(`Does not exist. Skipping ${action}`);
    }
  } catch (err) {
    term.error(`Failed: ${action}`);
    throw err;
  }
  term.line();
}
