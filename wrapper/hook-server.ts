// The hook socket: the job hooks' requests, one bounded line per connection,
// handed to the job lock (job-lock.ts), which alone decides. Any job can
// connect and the socket sits where jobs can delete it: so requests are
// read at most MAX_LINE_BYTES far, refusals are one line, and the socket is re-created.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { displayText } from '../lock/display.ts';
import type { Reporter } from '../core/reporter.ts';
import { errorCode } from '../core/safe-read.ts';
import type { JobLock } from './job-lock.ts';
import { MAX_LINE_BYTES, onLines, parseRequest, send, type Reply } from './protocol.ts';

/** What the server asks of the lock: the job lock, or a test's stand-in. */
export type HookHandler = Pick<JobLock, 'resource' | 'acquire' | 'release'>;

export interface HookServer {
  close(): Promise<void>;
}

/** A connection has this long to send its request. */
const REQUEST_WAIT_MS = 10_000;
/** Hooks connect one at a time; a job opening hundreds of connections is refused past this. */
const MAX_CONNECTIONS = 32;
/** Refusals are logged at most once per this window (a job looping on the socket must not fill the host's disk with docker logs). */
const REFUSAL_LOG_MS = 10_000;

/**
 * Serves the hooks: one request per connection, read at most MAX_LINE_BYTES
 * far. The socket lives in a directory a job can delete or replace (jobs run
 * as the runner's user, and many CI jobs clean /tmp): every `checkMs` the
 * path is checked, and when it is no longer our socket we listen on it again.
 * Connections already open (a hook waiting for the lock) are not affected.
 */
export async function serveHooks(lock: HookHandler, socketPath: string, o: { checkMs: number; reporter: Reporter }): Promise<HookServer> {
  const refuse = refuser(lock.resource, o.reporter);
  const onConnection = (socket: Socket): void => {
    const gone = new AbortController();
    socket.on('close', () => gone.abort());
    socket.on('error', () => gone.abort());
    socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
    let handled = false;
    let extra = 0;
    onLines(
      socket,
      (value) => {
        if (handled) return;
        handled = true;
        socket.setTimeout(0);
        // Read on (a hook that goes away must be noticed), but a request is one line.
        socket.on('data', (chunk: Buffer) => {
          extra += chunk.length;
          if (extra > MAX_LINE_BYTES) socket.destroy();
        });
        void handleRequest(lock, refuse, value, socket, gone.signal);
      },
      () => {
        // Nothing more is read: the sender blocks, has a moment to read the answer, then its writes fail.
        socket.pause();
        send(socket, refuse(`request longer than ${MAX_LINE_BYTES} bytes: refused`));
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    );
  };
  const listen = async (): Promise<{ server: Server; id: string }> => {
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await rm(socketPath, { force: true }); // left by a previous run of this container, or put there by a job
    const server = createServer(onConnection);
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o666).catch(() => undefined);
    const id = await socketState(socketPath);
    if (!/^\d+:\d+$/.test(id)) {
      server.close();
      throw new Error(`${socketPath} is ${id} right after listening`);
    }
    return { server, id };
  };

  let current: { server: Server; id: string } | undefined = await listen();
  let busy = false;
  let lastFailure = '';
  const ensure = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      let what = 'could not be re-created earlier';
      if (current) {
        const state = await socketState(socketPath);
        if (state === current.id) return;
        what = state === 'missing' ? 'was deleted' : 'was replaced';
        // Closing a unix socket server unlinks its path: close the old one before listening again.
        current.server.close();
        current = undefined;
      }
      try {
        current = await listen();
        lastFailure = '';
        o.reporter.info(`hook socket ${socketPath} ${what} (by a job cleaning up?): listening on it again`);
      } catch (err) {
        const why = errorCode(err) ?? (err as Error).message;
        const failure =
          `hook socket ${socketPath} ${what} and cannot be re-created (${why}): ` + `retrying every ${o.checkMs} ms; jobs cannot take the lock meanwhile`;
        if (failure !== lastFailure) o.reporter.info(failure);
        lastFailure = failure;
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void ensure(), o.checkMs);
  timer.unref();
  return {
    close(): Promise<void> {
      clearInterval(timer);
      current?.server.close();
      current = undefined;
      return Promise.resolve();
    },
  };
}

/**
 * A request that is not let through gets one error line back; the wrapper's
 * log gets one line per REFUSAL_LOG_MS, counting the ones it left out.
 */
function refuser(resource: string, reporter: Reporter): (why: string) => Reply {
  const refusals = { loggedAt: -Infinity, unlogged: 0 };
  return (why) => {
    const message = `${resource}: ${why}`;
    const now = performance.now();
    if (now - refusals.loggedAt >= REFUSAL_LOG_MS) {
      const more = refusals.unlogged ? ` (${refusals.unlogged} more refused before, not logged)` : '';
      reporter.info(`refused a hook request: ${message}${more}`);
      refusals.loggedAt = now;
      refusals.unlogged = 0;
    } else {
      refusals.unlogged++;
    }
    return { type: 'error', message };
  };
}

/** The socket file at `path` as device:inode, or why there is none. */
async function socketState(path: string): Promise<string> {
  try {
    const info = await lstat(path);
    return info.isSocket() ? `${info.dev}:${info.ino}` : 'not a socket';
  } catch (err) {
    return errorCode(err) === 'ENOENT' ? 'missing' : `unreadable (${errorCode(err)})`;
  }
}

/** One request, answered (progress lines first for an acquire), then the connection ends. */
async function handleRequest(lock: HookHandler, refuse: (why: string) => Reply, value: unknown, socket: Socket, gone: AbortSignal): Promise<void> {
  const reply = (r: Reply): void => send(socket, r);
  const req = parseRequest(value);
  try {
    if ('error' in req) reply(refuse(req.error));
    else if (req.op === 'acquire') {
      const result = await lock.acquire(req.job, reply, gone);
      reply(result.type === 'refused' ? refuse(result.reason) : result);
    } else reply(await lock.release(req.job));
  } catch (err) {
    reply({ type: 'error', message: displayText((err as Error).message) });
  }
  socket.end();
}
