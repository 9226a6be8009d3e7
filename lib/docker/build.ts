// `docker build` through the builder chosen explicitly, its output streamed as
// it is or folded into one line per step (builds that run side by side). A
// failed build is the Dockerfile's failure, not Docker's: exit 1, its reason.
import type { Reporter } from '../../core/reporter.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { bannerFilter, failureReason, parseStep, progressLine, type Builder } from './build-output.ts';
import { probe, start } from './command.ts';
import { ensureDocker } from './engine.ts';

export interface BuildOptions {
  /**
   * Fold the build's output: `progress` gets one short line per step as the
   * build reaches it (naming `image`), the log is kept, and only a failure
   * prints it, whole, to stderr. Unset: the output streams to stderr.
   */
  fold?: { image: string; progress: Reporter };
}

let builderChoice: Promise<Builder> | undefined;

/**
 * BuildKit when the buildx plugin runs (`docker buildx version`), else the
 * legacy builder; DOCKER_BUILDKIT=0 (Docker's own switch) keeps the legacy
 * one. Asked once per process.
 */
export function chooseBuilder(): Promise<Builder> {
  builderChoice ??= (async (): Promise<Builder> => {
    if (/^(0|f|false)$/i.test(process.env.DOCKER_BUILDKIT ?? '')) return 'legacy';
    const buildx = await probe(['buildx', 'version']).catch(() => undefined);
    return buildx?.exitCode === 0 ? 'buildkit' : 'legacy';
  })();
  return builderChoice;
}

/**
 * `docker build …args` through the builder chosen explicitly (the CLI's own
 * choice prints a deprecation banner for the legacy builder, and fails when
 * DOCKER_BUILDKIT=1 meets a missing plugin); the banner is dropped from
 * whatever is shown. Folded (options.fold) or streamed to stderr; BuildKit's
 * plain progress where its output is read, its own display where it streams
 * (a terminal's, or plain lines in a log).
 */
export async function dockerBuild(args: string[], what: string, options: BuildOptions = {}): Promise<void> {
  await ensureDocker();
  const builder = await chooseBuilder();
  const env = { DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
  const fold = options.fold;
  if (builder === 'buildkit' && !fold) {
    // Nothing to drop: docker's output goes straight to the terminal (stdout onto stderr).
    const result = await start(['docker', 'build', ...args], { env, stdio: 'stderr' });
    if (result.exitCode !== 0) throw new CliError(`docker build of ${what} failed (exit ${result.exitCode}); see the output above`, ExitCode.failure);
    return;
  }
  const keep = bannerFilter();
  const log: string[] = [];
  const shown = new Set<string>();
  const onLine = (line: string): void => {
    if (!keep(line)) return;
    if (!fold) {
      process.stderr.write(`${line}\n`);
      return;
    }
    log.push(line);
    const step = parseStep(line);
    const progress = step && progressLine(fold.image, step);
    // BuildKit repeats a step's header whenever its output resumes: one line per step.
    if (progress && !shown.has(progress)) {
      shown.add(progress);
      fold.progress.info(progress);
    }
  };
  // The legacy builder keeps a failed step's container (and its layers) unless
  // told otherwise: nothing of a failed build may be left behind.
  const builderFlags = builder === 'buildkit' ? ['--progress=plain'] : ['--force-rm'];
  const proc = start(['docker', 'build', ...builderFlags, ...args], { env });
  const flushOut = eachLine(proc.stdout, onLine);
  const flushErr = eachLine(proc.stderr, onLine);
  const result = await proc;
  flushOut();
  flushErr();
  if (result.exitCode === 0) return;
  if (!fold) throw new CliError(`docker build of ${what} failed (exit ${result.exitCode}); see the output above`, ExitCode.failure);
  const text = log.join('\n');
  process.stderr.write(`--- the log of the failed docker build of ${fold.image} ---\n${text}\n--- end of the log of ${fold.image} ---\n`);
  const reason = failureReason(text);
  throw new CliError(
    `docker build of ${what} failed (exit ${result.exitCode})${reason ? `: ${reason}` : ''}; its log is above`.replace(/\s*\n\s*/g, ' '),
    ExitCode.failure,
  );
}

/** Calls onLine with each line the stream carries as it comes; returns a flush for an unterminated last line. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): () => void {
  let pending = '';
  stream.on('data', (chunk: Buffer | string) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  return () => {
    if (pending) onLine(pending.replace(/\r$/, ''));
    pending = '';
  };
}
