// A private etcd for a test file: Debian's etcd-server (installed by
// tests/e2e/setup.sh), on free ports with a data directory of its own, which
// a test may stop and start again (etcd unreachable, then back). Tests skip
// when no etcd binary is installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
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

/** PEM files for an etcd that speaks TLS and asks clients for a certificate (testCertificates makes them). */
export interface TestTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Why TLS tests cannot run here, or false: openssl makes the certificates. */
export function opensslMissing(): string | false {
  return spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).status === 0 ? false : 'openssl is not installed (Debian package openssl)';
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate it signed, in `dir` (openssl, P-256 keys). */
export function testCertificates(dir: string): TestTls {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => {
    const res = spawnSync('openssl', args, { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=runner-fleet test CA');
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    ssl('req', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      f(`${name}.pem`),
      '-extfile',
      f(`${name}.ext`),
    );
  }
  return { caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

/** GET /health (over TLS with the client certificate when `tls`): whether etcd answers 200. */
async function healthy(url: string, tls: TestTls | undefined): Promise<boolean> {
  if (!tls) return (await fetch(url).catch(() => undefined))?.ok === true;
  const [ca, cert, key] = await Promise.all([tls.caCert, tls.clientCert, tls.clientKey].map((path) => readFile(path)));
  return new Promise((resolve) => {
    const req = httpsGet(url, { ca, cert, key }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

export class TestEtcd {
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly tls?: TestTls,
  ) {}

  /** A private etcd; with `tls`, clients connect over https and must show a certificate the CA signed. */
  static async start(options: { tls?: TestTls } = {}): Promise<TestEtcd> {
    const etcd = new TestEtcd(await mkdtemp(join(tmpdir(), 'etcd-test-')), await freePort(), await freePort(), options.tls);
    await etcd.resume();
    return etcd;
  }

  get endpoint(): string {
    return this.tls ? `https://127.0.0.1:${this.clientPort}` : `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts (again, with the same data) and waits until it answers. */
  async resume(): Promise<void> {
    if (this.child) return;
    const client = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
    const tls = this.tls;
    const tlsArgs = tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--client-cert-auth', '--trusted-ca-file', tls.caCert] : [];
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
        ...tlsArgs,
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
        return healthy(`${client}/health`, tls);
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
