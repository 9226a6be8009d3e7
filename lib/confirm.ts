// Asking before destroying anything: on a terminal a yes/no question (default
// no); without a terminal, and without -y, a refusal that says how to proceed.
import { confirm } from '@inquirer/prompts';
import { CliError, ExitCode } from '../core/errors.ts';

export interface ConfirmOptions {
  /** The question, e.g. "Remove 3 runners (…)?" */
  question: string;
  /** What would happen, for the refusal line, e.g. "remove 3 runners". */
  action: string;
  /** -y/--yes was given. */
  yes: boolean;
  /** Whether a person can answer; default: stdin and stderr are terminals. */
  interactive?: boolean;
}

export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Returns when confirmed; throws CliError(refused) when declined or when nobody can be asked. */
export async function confirmOrRefuse({ question, action, yes, interactive = canAsk() }: ConfirmOptions): Promise<void> {
  if (yes) return;
  if (!interactive) {
    throw new CliError(`refusing to ${action} without confirmation: this is not a terminal; pass -y (make: YES=1) to confirm`, ExitCode.refused);
  }
  let answer: boolean;
  try {
    // The question goes to stderr so that stdout stays the command's output.
    answer = await confirm({ message: question, default: false }, { output: process.stderr });
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError') answer = false;
    else throw err;
  }
  if (!answer) throw new CliError(`cancelled: did not ${action}`, ExitCode.refused);
}

/** "a, b, c" or "a, b, … and 240 more" for long lists in questions. */
export function listForQuestion(names: string[], shown = 10): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')}, … and ${names.length - shown} more`;
}
