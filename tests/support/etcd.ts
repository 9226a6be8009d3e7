// A private etcd for a test file: Debian's etcd-server (installed by
// tests/e2e/setup.sh), on free ports with a data directory of its own, which
// a test may stop and start again (etcd unreachable, then back). Tests skip
// when no etcd binary is installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

/** The test ground's shared etcd (tests/e2e/setup.sh), for the e2e tests. */
export const GROUND_ETCD = process.env.RUNNER_FLEET_TEST_ETCD || '127.0.0.1:2379';

export function etcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Why the etcd tests cannot run here, or false (node:test's skip option). */
export function etcdMissing(): string | false {
  return etcdBinary() ? false : 'etcd is not installed: run tests/e2e/setup.sh (Debian package etcd-server)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class TestEtcd {
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  static async start(): Promise<TestEtcd> {
    const etcd = new TestEtcd(await mkdtemp(join(tmpdir(), 'etcd-test-')), await freePort(), await freePort());
    await etcd.resume();
    return etcd;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts (again, with the same data) and waits until it answers. */
  async resume(): Promise<void> {
    if (this.child) return;
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      etcdBinary() ?? 'etcd',
      [
        '--name',
        'test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `test=${peer}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.log = (this.log + d).slice(-4000)));
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(
      'etcd answering /health',
      async () => {
        if (!this.child) throw new Error(`etcd exited: ${this.log}`);
        const res = await fetch(`${client}/health`).catch(() => undefined);
        return res?.ok === true;
      },
      { timeoutMs: 20_000 },
    );
  }

  /** Stops it (SIGKILL: as a crash, or a network cut, looks to its clients). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
