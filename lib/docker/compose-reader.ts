// The runners of the generated compose file, and the names users give on the
// command line resolved against them.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { unescapeInterpolation, type ComposeFile, type RunnerSpec } from './compose-file.ts';
import type { Config } from '../config/config.ts';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import { LABEL } from './labels.ts';
import { resolveRunnerName } from '../config/names.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';

/** The runners of the existing compose file; an error that says to run init when there is none. */
export async function readComposeRunners(config: Pick<Config, 'composeFile'>): Promise<RunnerSpec[]> {
  let text: string;
  try {
    text = await readFile(config.composeFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no compose file at ${config.composeFile}: run make init N=… first (or set COMPOSE_FILE)`);
    }
    throw err;
  }
  const compose = unescapeInterpolation(parse(text) as Partial<ComposeFile> | null);
  return Object.entries(compose?.services ?? {}).map(([name, service]) => {
    const board = service.labels?.[LABEL.board];
    const resourceId = service.labels?.[LABEL.resource];
    return {
      name,
      kind: service.labels?.[LABEL.kind] === 'board' ? 'board' : 'generic',
      labels: (service.environment?.RUNNER_LABELS ?? '').split(',').filter(Boolean),
      ...(board ? { board } : {}),
      ...(resourceId ? { resourceId } : {}),
    } satisfies RunnerSpec;
  });
}

export interface Selection {
  selected: RunnerSpec[];
  unknown: string[];
}

/**
 * Resolves names given by the user (see resolveRunnerName). No names
 * selects every runner.
 */
export function selectRunners(runners: RunnerSpec[], prefix: string, names: string[]): Selection {
  if (names.length === 0) return { selected: runners, unknown: [] };
  const selected: RunnerSpec[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const resolved = resolveRunnerName(prefix, name, (candidate) => runners.some((r) => r.name === candidate));
    const runner = runners.find((r) => r.name === resolved);
    if (!runner) unknown.push(name);
    else if (!selected.includes(runner)) selected.push(runner);
  }
  return { selected, unknown };
}

/** Warns of each unknown name; throws when nothing valid is left. */
export function requireSelection({ selected, unknown }: Selection, known: RunnerSpec[], reporter: Reporter = stdio): RunnerSpec[] {
  for (const name of unknown) reporter.warn(`unknown runner '${name}' (known: ${known.map((r) => r.name).join(', ') || 'none'})`);
  if (selected.length === 0) {
    throw new CliError(
      unknown.length ? 'no known runner given: see make ps for the names' : 'this fleet has no runners: run make init N=… first',
      ExitCode.config,
    );
  }
  return selected;
}

/**
 * The runners named on the command line (all when none), resolved against the
 * compose file; unknown names are reported, and it throws when none is valid.
 */
export async function selectFleetRunners(config: Pick<Config, 'composeFile' | 'prefix'>, names: string[], reporter: Reporter = stdio): Promise<Selection> {
  const runners = await readComposeRunners(config);
  const selection = selectRunners(runners, config.prefix, names);
  return { selected: requireSelection(selection, runners, reporter), unknown: selection.unknown };
}

/** The named volumes the existing compose file declares (none when there is no file). */
export async function readComposeVolumes(config: Pick<Config, 'composeFile'>): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(config.composeFile, 'utf8');
  } catch {
    return new Set();
  }
  const compose = unescapeInterpolation(parse(text) as Partial<ComposeFile> | null);
  return new Set(Object.keys(compose?.volumes ?? {}));
}
