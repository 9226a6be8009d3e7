// The proxy settings run.sh is started with. The runner exports its proxy
// settings to every step it runs (RunnerWebProxy.cs sets them in its own
// environment, which steps inherit), and a job runs as the runner's user, so
// whatever the runner is given a job can read. A proxy URL with credentials is
// therefore swapped for a relay's on loopback (proxy-relay.ts) that adds them,
// unless RUNNER_PROXY_TO_JOBS=true hands the lab's URL over as it is.
import type { Reporter } from '../core/reporter.ts';
import { startProxyRelay, type ProxyRelay } from './proxy-relay.ts';

/** The settings RunnerWebProxy.cs reads a proxy URL from (NO_PROXY holds hosts, passed as given). */
export const PROXY_URL_SETTINGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'] as const;

export interface RunnerProxy {
  close(): Promise<void>;
}

/** A proxy setting as the runner reads it: RunnerWebProxy.cs puts http:// in front of an address without a scheme. */
function proxyUrl(value: string): URL | undefined {
  const text = value.trim();
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    return undefined;
  }
}

/**
 * Rewrites `env` (run.sh's, a copy of the container's) so that no proxy
 * credential is in it unless `toJobs`; returns the relays to close at exit.
 */
export async function keepProxyCredentials(env: NodeJS.ProcessEnv, toJobs: boolean, reporter: Reporter): Promise<RunnerProxy> {
  const relays = new Map<string, ProxyRelay>();
  const relayed = new Map<string, string[]>();
  try {
    for (const key of PROXY_URL_SETTINGS) {
      const value = env[key];
      if (!value) continue;
      const url = proxyUrl(value);
      if (url !== undefined && url.username === '' && url.password === '') continue; // nothing secret in it
      if (toJobs) {
        reporter.info(`${key}: the proxy's credentials reach every job (RUNNER_PROXY_TO_JOBS=true)`);
        continue;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        delete env[key];
        reporter.warn(`${key} left out of the runner's environment: not an http:// or https:// proxy URL, so its credentials cannot be relayed`);
        continue;
      }
      let relay = relays.get(url.href);
      if (relay === undefined) {
        relay = await startProxyRelay(url, reporter);
        relays.set(url.href, relay);
      }
      env[key] = relay.url;
      relayed.set(url.href, [...(relayed.get(url.href) ?? []), key]);
    }
  } catch (err) {
    await Promise.all([...relays.values()].map((relay) => relay.close()));
    throw err;
  }
  for (const [href, keys] of relayed) {
    const upstream = new URL(href);
    const relay = new URL(relays.get(href)!.url);
    reporter.info(
      `${keys.join(', ')}: through a relay on ${relay.host} that adds the credentials of ${upstream.protocol}//${upstream.host}; ` +
        'jobs get the relay, never the credentials (RUNNER_PROXY_TO_JOBS=true would hand them over)',
    );
  }
  return { close: async () => void (await Promise.all([...relays.values()].map((relay) => relay.close()))) };
}
