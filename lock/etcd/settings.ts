// The etcd lock's settings, read from an environment (the wrapper's container
// environment, or the host's .env for `make locks` and the bench). Shared by
// wrapper/config.ts and lib/config: both may import lock/.
//
//   RUNNER_LOCK_BACKEND            directory (default) | etcd
//   RUNNER_LOCK_ETCD_ENDPOINTS     comma list: https://etcd1:2379,https://etcd2:2379 (a bare host:port is http)
//   RUNNER_LOCK_ETCD_PREFIX        key prefix (default /gh-runner-fleet/locks)
//   RUNNER_LOCK_ETCD_LEASE_S       lease TTL in seconds (default 10): a dead holder's lock is freed within it
//   RUNNER_LOCK_ETCD_CACERT/_CERT/_KEY   TLS files (PEM): the CA to trust, the client certificate and its key
//   RUNNER_LOCK_ETCD_USER/_PASSWORD      etcd auth (the password is a secret: never in a compose file or a log)
import { ConfigError } from '../../core/errors.ts';

export type LockBackendName = 'directory' | 'etcd';

export interface EtcdSettings {
  endpoints: string[];
  prefix: string;
  leaseS: number;
  caCert?: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
}

export const ETCD_DEFAULTS = { prefix: '/gh-runner-fleet/locks', leaseS: 10 } as const;

/** The settings that hold a secret: kept out of compose files, logs and the runner's environment. */
export const ETCD_SECRET_SETTINGS = ['RUNNER_LOCK_ETCD_PASSWORD'] as const;

/** The settings that name files the lock reads (bind-mounted read-only into board runners). */
export const ETCD_FILE_SETTINGS = { caCert: 'RUNNER_LOCK_ETCD_CACERT', cert: 'RUNNER_LOCK_ETCD_CERT', key: 'RUNNER_LOCK_ETCD_KEY' } as const;

export function parseLockBackend(raw: string | undefined): LockBackendName {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'directory') return 'directory';
  if (value === 'etcd') return 'etcd';
  throw new ConfigError(`RUNNER_LOCK_BACKEND=${raw} is invalid: use directory (the default) or etcd`);
}

/** One endpoint as a URL etcd's client takes; a bare host:port is http. */
function endpoint(raw: string): string {
  const text = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`RUNNER_LOCK_ETCD_ENDPOINTS: ${raw} is not an endpoint: use host:port or http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`RUNNER_LOCK_ETCD_ENDPOINTS: ${raw}: use http:// or https://`);
  if (url.username || url.password)
    throw new ConfigError('RUNNER_LOCK_ETCD_ENDPOINTS: no credentials in an endpoint: use RUNNER_LOCK_ETCD_USER and RUNNER_LOCK_ETCD_PASSWORD');
  if (url.pathname !== '/' && url.pathname !== '') throw new ConfigError(`RUNNER_LOCK_ETCD_ENDPOINTS: ${raw}: an endpoint has no path`);
  return `${url.protocol}//${url.host}`;
}

export function parseEndpoints(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(endpoint);
}

function absoluteFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (!value.startsWith('/')) throw new ConfigError(`${name}=${value} is invalid: use an absolute path`);
  return value;
}

/**
 * The etcd settings of `env`, or undefined when RUNNER_LOCK_ETCD_ENDPOINTS is
 * unset. Never puts the password in an error message.
 */
export function parseEtcdSettings(env: NodeJS.ProcessEnv): EtcdSettings | undefined {
  const endpoints = parseEndpoints(env.RUNNER_LOCK_ETCD_ENDPOINTS);
  if (endpoints.length === 0) return undefined;
  const prefix = (env.RUNNER_LOCK_ETCD_PREFIX?.trim() || ETCD_DEFAULTS.prefix).replace(/\/+$/, '');
  if (!/^\/[A-Za-z0-9_./-]{0,200}$/.test(prefix) || prefix.includes('//')) {
    throw new ConfigError(
      `RUNNER_LOCK_ETCD_PREFIX=${env.RUNNER_LOCK_ETCD_PREFIX} is invalid: a key path such as ${ETCD_DEFAULTS.prefix} (letters, digits, '_', '.', '-', '/')`,
    );
  }
  const rawLease = env.RUNNER_LOCK_ETCD_LEASE_S?.trim();
  const leaseS = rawLease ? Number(rawLease) : ETCD_DEFAULTS.leaseS;
  if (!Number.isInteger(leaseS) || leaseS < 2 || leaseS > 600) {
    throw new ConfigError(`RUNNER_LOCK_ETCD_LEASE_S=${rawLease} is invalid: a whole number of seconds from 2 to 600`);
  }
  const user = env.RUNNER_LOCK_ETCD_USER?.trim() || undefined;
  const password = env.RUNNER_LOCK_ETCD_PASSWORD || undefined;
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError('RUNNER_LOCK_ETCD_USER and RUNNER_LOCK_ETCD_PASSWORD go together: set both, or neither');
  }
  const caCert = absoluteFile(env, ETCD_FILE_SETTINGS.caCert);
  const cert = absoluteFile(env, ETCD_FILE_SETTINGS.cert);
  const key = absoluteFile(env, ETCD_FILE_SETTINGS.key);
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('RUNNER_LOCK_ETCD_CERT and RUNNER_LOCK_ETCD_KEY go together: set both, or neither');
  return {
    endpoints,
    prefix,
    leaseS,
    ...(caCert ? { caCert } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
  };
}

/** The backend `env` asks for, with its etcd settings; etcd without endpoints is refused. */
export function parseLockBackendSettings(env: NodeJS.ProcessEnv): { backend: 'directory' } | { backend: 'etcd'; etcd: EtcdSettings } {
  const backend = parseLockBackend(env.RUNNER_LOCK_BACKEND);
  if (backend === 'directory') return { backend };
  const etcd = parseEtcdSettings(env);
  if (!etcd) throw new ConfigError('RUNNER_LOCK_BACKEND=etcd needs RUNNER_LOCK_ETCD_ENDPOINTS (a comma list of host:port or https://host:port)');
  return { backend, etcd };
}

/** Where the lock is, for a log line: endpoints and prefix, never a credential. */
export function describeEtcd(s: EtcdSettings): string {
  const tls = s.cert ? ', TLS client certificate' : s.caCert ? ', TLS' : '';
  const auth = s.user ? `, user ${s.user}` : '';
  return `etcd ${s.endpoints.join(',')} under ${s.prefix} (lease ${s.leaseS} s${tls}${auth})`;
}
