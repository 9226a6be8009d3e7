// What the compose file needs to know about this host: which virtualization
// and loop devices exist, and the group that owns /dev/kvm.
import { existsSync, readdirSync, statSync } from 'node:fs';

export interface HostFacts {
  /** /dev/kvm's group id, when the device exists and its group is not root's. */
  kvmGid?: number;
  /** Devices every runner gets when the host has them: /dev/kvm, /dev/loop-control, /dev/loopN. */
  sharedDevices: string[];
  /** Whether a host path exists (board devices are checked before compose fails on them). */
  exists(path: string): boolean;
}

export function readHostFacts(): HostFacts {
  const loops = safeReaddir('/dev')
    .filter((entry) => /^loop(\d+|-control)$/.test(entry))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((entry) => `/dev/${entry}`);
  const kvm = existsSync('/dev/kvm') ? ['/dev/kvm'] : [];
  // A /dev/kvm of group root (no kvm group on the host) gives no group to add:
  // adding gid 0 would hand every job root's group.
  const kvmGid = kvm.length ? statSync('/dev/kvm').gid : 0;
  return {
    ...(kvmGid !== 0 ? { kvmGid } : {}),
    sharedDevices: [...kvm, ...loops],
    exists: existsSync,
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
