// Runner simulator — STANDS IN for actions/runner. Its proxy settings as
// Runner.Sdk/RunnerWebProxy.cs reads and applies them in every process (the
// casings set for the steps, what goes direct, credentials from the URL):
// PROTOCOL.md, "Proxy", which also names where it differs.
import { ProxyAgent, type Dispatcher } from 'undici';

interface Bypass {
  host: string;
  port?: string;
}

export interface WebProxy {
  /** The dispatcher a request to `url` goes through; undefined: direct (RunnerWebProxy.GetProxy returning null). */
  dispatcherFor(url: string): Dispatcher | undefined;
}

const IPV4 = /^((25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)$/;

/** Uri.TryCreate(…, UriKind.Absolute), else with http:// in front (PrependHttpIfMissing). */
function proxyAddress(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (URL.canParse(text)) return text;
  return !/^https?:\/\//.test(text) && URL.canParse(`http://${text}`) ? `http://${text}` : undefined;
}

function bypassList(noProxy: string): Bypass[] {
  const seen = new Set<string>();
  const list: Bypass[] = [];
  for (const entry of noProxy.split(',')) {
    const item = entry.trim();
    if (!item || seen.has(item.toLowerCase())) continue;
    seen.add(item.toLowerCase());
    const [host = '', port] = item.split(/:(.*)/s, 2);
    if (IPV4.test(host)) continue; // "We don't support IP address for no_proxy"
    list.push(port ? { host, port } : { host });
  }
  return list;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\./.test(host) || host === '[::1]';
}

/** Reads the proxy settings of `env` and sets both casings in it, as RunnerWebProxy's constructor does. */
export function loadWebProxy(env: NodeJS.ProcessEnv = process.env): WebProxy {
  const http = proxyAddress(env.http_proxy || env.HTTP_PROXY);
  const https = proxyAddress(env.https_proxy || env.HTTPS_PROXY);
  const noProxy = env.no_proxy || env.NO_PROXY;
  if (!http && !https) return { dispatcherFor: () => undefined };
  if (http) env.HTTP_PROXY = env.http_proxy = http;
  if (https) env.HTTPS_PROXY = env.https_proxy = https;
  const bypass = noProxy ? ((env.NO_PROXY = env.no_proxy = noProxy), bypassList(noProxy)) : [];
  const agents = new Map<string, ProxyAgent>();
  const agentFor = (address: string): ProxyAgent => {
    let agent = agents.get(address);
    // proxyTunnel false: an http:// request goes to the proxy in absolute form, as .NET's HttpClient sends it.
    if (!agent) agents.set(address, (agent = new ProxyAgent({ uri: address, proxyTunnel: false })));
    return agent;
  };
  return {
    dispatcherFor(url: string): Dispatcher | undefined {
      const target = new URL(url);
      const address = target.protocol === 'https:' ? https : http;
      if (!address || isLoopback(target.hostname)) return undefined; // IsBypassed
      const port = target.port || (target.protocol === 'https:' ? '443' : '80');
      const host = target.hostname.toLowerCase();
      const bypassed = bypass.some((b) => {
        if (b.host === '*') return true;
        const wanted = b.host.toLowerCase();
        const hostMatches = wanted.startsWith('.') ? host.endsWith(wanted) : host === wanted || host.endsWith(`.${wanted}`);
        return hostMatches && (b.port === undefined || b.port === port);
      });
      return bypassed ? undefined : agentFor(address);
    },
  };
}
