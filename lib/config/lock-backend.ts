// Where the board lock is (RUNNER_LOCK_BACKEND and RUNNER_LOCK_ETCD_*, see
// lock/etcd/settings.ts), from the env file and the environment: the compose
// file passes it to board runners, and `make locks` reads the same store.
import { parseLockBackendSettings, type EtcdSettings, type LockBackendName } from '../../lock/etcd/settings.ts';
import type { Settings } from './settings.ts';

export interface LockBackendConfig {
  /** RUNNER_LOCK_BACKEND: directory (default) or etcd. */
  lockBackend: LockBackendName;
  /** RUNNER_LOCK_ETCD_*, when lockBackend is etcd; its password is for compose's environment only (never the compose file). */
  etcd?: EtcdSettings;
}

export function lockBackendOf(settings: Settings): LockBackendConfig {
  const parsed = parseLockBackendSettings({ ...settings.file, ...settings.env });
  return parsed.backend === 'etcd' ? { lockBackend: 'etcd', etcd: parsed.etcd } : { lockBackend: 'directory' };
}
