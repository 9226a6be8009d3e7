// Docker's event stream, for a process that reacts to containers as they
// change (the ephemeral supervisor): `docker events` as JSON lines, filtered
// by the caller's labels. The stream can end (the daemon restarts): the
// caller is told and decides when to watch again.
import { start } from './command.ts';

export interface ContainerEvent {
  /** die, start, destroy, … (Docker's Action). */
  action: string;
  /** The container's name. */
  name: string;
  /** The container's labels. */
  labels: Record<string, string>;
}

export interface EventWatch {
  close(): void;
  /** Resolves when the stream ends, by close() or because docker events exited. */
  ended: Promise<void>;
}

/** Longest event line read; Docker's are well under this, anything longer is skipped. */
const MAX_EVENT_BYTES = 64 * 1024;

/** Watches container events matching every `label=value` filter; `onEvent` gets each one. */
export function watchContainerEvents(labelFilters: string[], onEvent: (event: ContainerEvent) => void): EventWatch {
  const filters = ['--filter', 'type=container', ...labelFilters.flatMap((label) => ['--filter', `label=${label}`])];
  const proc = start(['docker', 'events', '--format', '{{json .}}', ...filters]);
  let pending = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > MAX_EVENT_BYTES) pending = '';
    for (const line of lines) {
      const event = parseEvent(line);
      if (event) onEvent(event);
    }
  });
  // zx's exitCode is a promise: whether the process still runs is tracked here.
  let running = true;
  const ended = proc.then(
    () => void (running = false),
    () => void (running = false),
  );
  return {
    close: () => {
      if (running) void proc.kill('SIGTERM').catch(() => undefined);
    },
    ended,
  };
}

/** One `docker events --format '{{json .}}'` line, or undefined when it is not a container event. */
export function parseEvent(line: string): ContainerEvent | undefined {
  if (line.length === 0 || line.length > MAX_EVENT_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = raw as { Type?: unknown; Action?: unknown; Actor?: { Attributes?: Record<string, unknown> } };
  const attributes = event.Actor?.Attributes ?? {};
  if (event.Type !== 'container' || typeof event.Action !== 'string' || typeof attributes.name !== 'string') return undefined;
  const labels = Object.fromEntries(
    Object.entries(attributes).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'name'),
  );
  // "exec_start: sh -c …" and the like: the verb is the first word.
  return { action: event.Action.split(':')[0]!, name: attributes.name, labels };
}
