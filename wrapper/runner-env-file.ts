// The runner's own .env ($RUNNER_HOME/.env): Runner.Listener applies it over
// its environment at every start, and a job can write it, so what it sets
// could reach every later job's hooks and switch the lock off. The wrapper
// writes it afresh from the image's before each start (restoreRunnerEnvFile).
import { dirname } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { ConfigError } from '../core/errors.ts';
import { removeEntry } from '../lock/files.ts';
import { errorCode, lstatIfPresent, readBytes, type BytesRead } from '../core/safe-read.ts';
import type { Reporter } from '../core/reporter.ts';
import { WRAPPER_SETTING } from './config.ts';

export type HookKind = 'started' | 'completed';
export const hookKinds: readonly HookKind[] = ['started', 'completed'];

/** The runner's variable for each hook. */
export const runnerHookVar: Record<HookKind, string> = {
  started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED',
  completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
};

/** Where our hook scripts find the user's hook to chain. */
export const userHookVar: Record<HookKind, string> = {
  started: 'RUNNER_FLEET_USER_HOOK_JOB_STARTED',
  completed: 'RUNNER_FLEET_USER_HOOK_JOB_COMPLETED',
};

/** A hook the file sets: a path, or null when it unsets the variable (`KEY=` with nothing after). */
export type FileHooks = Partial<Record<HookKind, string | null>>;

/** An image's .env is a few lines; anything larger is refused rather than read whole by root. */
const maxEnvBytes = 1024 * 1024;

/**
 * The text as .NET's File.ReadAllLines decodes it: a byte order mark (UTF-8,
 * UTF-16 or UTF-32, either order) picks the encoding and is dropped; without
 * one, UTF-8, invalid bytes read as U+FFFD.
 */
export function decodeEnvFile(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts = (...mark: number[]): boolean => mark.every((v, i) => b[i] === v);
  // One mark is dropped; a second one is text, as for .NET.
  const decode = (encoding: string, from: number): string => new TextDecoder(encoding, { ignoreBOM: true }).decode(b.subarray(from));
  if (starts(0xef, 0xbb, 0xbf)) return decode('utf-8', 3);
  if (starts(0xff, 0xfe, 0, 0)) return utf32(b.subarray(4), true);
  if (starts(0xff, 0xfe)) return decode('utf-16le', 2);
  if (starts(0xfe, 0xff)) return decode('utf-16be', 2);
  if (starts(0, 0, 0xfe, 0xff)) return utf32(b.subarray(4), false);
  return decode('utf-8', 0);
}

function utf32(b: Buffer, little: boolean): string {
  let out = '';
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const cp = little ? b.readUInt32LE(i) : b.readUInt32BE(i);
    out += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\uFFFD';
  }
  return out;
}

interface Line {
  text: string;
  eol: string;
}

/** Lines as File.ReadAllLines cuts them (\r\n, \n or \r), each with its own line ending kept. */
function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const re = /([^\r\n]*)(\r\n|\n|\r|$)/g;
  for (let m = re.exec(text); m !== null && m.index < text.length; m = re.exec(text)) {
    lines.push({ text: m[1] ?? '', eol: m[2] ?? '' });
    if (m[2] === '') break;
  }
  return lines;
}

/**
 * What the runner makes of one line: the key is everything before the first
 * '=' (which must not be the first character), untrimmed; the value is the rest,
 * verbatim (no quotes removed); an empty value unsets the variable. Other
 * lines (comments without '=', blank lines) are ignored.
 */
export function runnerAssignment(line: string): { key: string; value: string | null } | undefined {
  const at = line.indexOf('=');
  if (at <= 0) return undefined;
  const value = line.slice(at + 1);
  return { key: line.slice(0, at), value: value === '' ? null : value };
}

/**
 * The wrapper setting a key names, read loosely (a byte order mark anywhere,
 * `export `, quotes, surrounding whitespace): such lines are left out even
 * where the runner of today would read another name, since another parser
 * (a later runner, a shell) may not.
 */
export function wrapperSettingOf(key: string): string | undefined {
  const name = key
    .replace(/\uFEFF/g, '')
    .trim()
    .replace(/^export\s+/i, '')
    .replace(/^["'`]+|["'`]+$/g, '')
    .trim();
  return WRAPPER_SETTING.test(name) ? name : undefined;
}

export interface RunnerEnv {
  /** The runner's .env: the image's lines, without the wrapper's settings. */
  text: string;
  /** With a lock: the image's job hooks, chained by the lock hooks (null: unset there). */
  hooks: FileHooks;
  /** The wrapper settings left out, each named once. */
  left: string[];
}

/**
 * The runner's .env made from the image's: every line that sets a wrapper
 * setting becomes a comment (no '=' in it: the runner skips it). Without a lock
 * (`ours` unset) the image's job hooks stay, as the runner would apply them;
 * with one, they are left out, and the last one per hook, as the runner would
 * have applied it, is returned to be chained (our own hook path named there
 * means none to chain).
 */
export function runnerEnvFromImage(text: string, ours?: Record<HookKind, string>): RunnerEnv {
  const hooks: FileHooks = {};
  const left = new Set<string>();
  let out = '';
  for (const line of splitLines(text)) {
    const a = runnerAssignment(line.text);
    const kind = a ? hookKinds.find((k) => runnerHookVar[k] === a.key) : undefined;
    if (a && kind && !ours) {
      out += `${line.text}${line.eol}`;
      continue;
    }
    if (a && kind && ours) hooks[kind] = a.value === ours[kind] ? null : a.value;
    const setting = a && wrapperSettingOf(a.key);
    // Without a lock the image's hooks are the runner's business, whatever their spelling.
    if (!setting || (!ours && /^ACTIONS_RUNNER_HOOK_/i.test(setting))) {
      out += `${line.text}${line.eol}`;
      continue;
    }
    left.add(setting);
    const why = kind ? 'the lock hooks chain the hook it sets' : "only the container environment sets the lock wrapper's settings";
    out += `# runner-fleet: a line setting ${setting.replace(/[^\w.-]/g, '?')} is left out: ${why}${line.eol || ''}`;
  }
  return { text: out, hooks, left: [...left] };
}

/** A regular file, not through a link, opened so that a FIFO cannot block, at most maxEnvBytes. */
const readSmallFile = (path: string): Promise<BytesRead> => readBytes(path, maxEnvBytes);

export interface RestoreOptions {
  /** Root's copy of the image's .env (absent: the image has none). */
  imageEnvFile: string;
  /** The runner's .env, in its home. */
  envFile: string;
  /** The lock hooks, when the runner has a lock: the image's hooks are then chained, not applied. */
  ours?: Record<HookKind, string>;
  reporter: Reporter;
}

/**
 * Writes the runner's .env afresh from root's copy of the image's
 * (IMAGE_ENV_FILE, taken at build time) and returns the image's job hooks to
 * chain. Runner.Listener reads the file at every start (actions/runner
 * src/Runner.Listener/Program.cs, LoadAndSetEnv) and sets each line's
 * KEY=VALUE in its own environment, over what it inherited; its Runner.Worker
 * processes, and so the job hooks, inherit the result. A hook variable, a
 * RUNNER_FLEET_* setting, BASH_ENV or LD_PRELOAD a job wrote there would reach
 * the hooks of every later job: so no line that sets a wrapper setting is
 * kept (WRAPPER_SETTING: those come from the container's environment only),
 * and with a lock the image's job hooks leave the file too, chained by the
 * lock hooks (RUNNER_FLEET_USER_HOOK_JOB_*, in run.sh's environment).
 *
 * What is found in the runner's home is never read for its settings, never
 * followed: a link, a directory or a job's own file there is replaced. Throws
 * a one-line ConfigError when the file cannot be written: the runner must not
 * start with a .env a job wrote.
 */
export async function restoreRunnerEnvFile(o: RestoreOptions): Promise<FileHooks> {
  const image = await readSmallFile(o.imageEnvFile);
  if ('bad' in image) {
    const what = `the image's copy of the runner's .env, ${o.imageEnvFile}`;
    throw new ConfigError(`${what}, is ${image.bad}: rebuild the runner image (make image)`);
  }
  const uid = process.getuid?.() ?? '?';
  const found = await readSmallFile(o.envFile).catch((err: unknown) => ({ bad: errorCode(err) ?? String(err) }));
  const cannot = (err: unknown): ConfigError =>
    new ConfigError(
      `the runner's ${o.envFile} cannot be replaced by uid ${uid} (${errorCode(err) ?? (err as Error).message}), ` +
        `and the runner would apply whatever a job wrote there over its environment: ` +
        `make ${dirname(o.envFile)} writable for uid ${uid} (the runner image's wrapper runs as root)`,
    );
  if ('missing' in image) {
    if ('missing' in found) return {};
    await removeEntry(o.envFile).catch((err: unknown) => {
      throw cannot(err);
    });
    o.reporter.info(
      `removed ${o.envFile}: the image has no .env, and the runner would apply this one ` +
        '(written since the image was built, by a job?) over its environment',
    );
    return {};
  }
  const imageText = decodeEnvFile(image.bytes);
  const env = runnerEnvFromImage(imageText, o.ours);
  const data = Buffer.from(env.text, 'utf8');
  const info = await lstatIfPresent(o.envFile);
  const same = 'bytes' in found && found.bytes.equals(data);
  if (!(same && info !== undefined && info.uid === process.getuid?.() && (info.mode & 0o7777) === 0o644)) {
    try {
      if (info && !info.isFile()) await removeEntry(o.envFile);
      await writeFileAtomic(o.envFile, data, { mode: 0o644 });
    } catch (err) {
      throw cannot(err);
    }
    const changed = 'bytes' in found ? !found.bytes.equals(image.bytes) && !same : !('missing' in found);
    if (changed) {
      o.reporter.info(
        `rewrote ${o.envFile} from the image's .env: it had been changed since the image was built (by a job?), ` +
          'and the runner applies it over its environment',
      );
    }
  }
  if (env.left.length > 0) {
    const chained = Object.keys(env.hooks).length ? "; the image's job hooks run chained by the lock hooks" : '';
    const why = "the lock wrapper's settings and hooks come from the container environment";
    o.reporter.info(`left ${env.left.join(', ')} out of the runner's .env: ${why}${chained}`);
  }
  return env.hooks;
}
