// An etcd v3 client (the `etcd3` package: gRPC) from the lock's settings. The
// TLS files are read here, once; the password goes to the client only.
import { readFile } from 'node:fs/promises';
import { Etcd3, type IOptions } from 'etcd3';
import { ConfigError } from '../../core/errors.ts';
import { displayText } from '../display.ts';
import type { EtcdSettings } from './settings.ts';

/** A unary call that takes longer is an unreachable etcd: the caller retries (streams have no deadline). */
export const CALL_DEADLINE_MS = 3000;

async function pem(path: string | undefined, setting: string): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`${setting}=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export async function etcdClient(s: EtcdSettings, o: { deadlineMs?: number } = {}): Promise<Etcd3> {
  const deadlineMs = o.deadlineMs ?? CALL_DEADLINE_MS;
  const rootCertificate = await pem(s.caCert, 'RUNNER_LOCK_ETCD_CACERT');
  const certChain = await pem(s.cert, 'RUNNER_LOCK_ETCD_CERT');
  const privateKey = await pem(s.key, 'RUNNER_LOCK_ETCD_KEY');
  const options: IOptions = {
    hosts: s.endpoints,
    dialTimeout: deadlineMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    ...(rootCertificate || certChain
      ? {
          credentials: {
            // No CA file: grpc-js trusts the system's CAs (etcd3's type wants a Buffer, createSsl takes null).
            rootCertificate: rootCertificate ?? (null as unknown as Buffer),
            ...(certChain ? { certChain } : {}),
            ...(privateKey ? { privateKey } : {}),
          },
        }
      : {}),
    ...(s.user !== undefined && s.password !== undefined ? { auth: { username: s.user, password: s.password } } : {}),
  };
  return new Etcd3(options);
}

/** etcd's error as one plain line, without the client's noise (gRPC's resolution note, the circuit breaker's wording); never a credential. */
export function etcdErrorText(err: unknown, max: number): string {
  const why = String((err as Error)?.message ?? err).replace(/\.?\s*Resolution note:.*$/s, '');
  // The client's circuit breaker: calls are held back for a few seconds after failures.
  return displayText(/circuit breaker is open/i.test(why) ? 'no answer to the last calls (the client pauses before trying again)' : why, max);
}
