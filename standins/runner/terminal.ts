// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Console output shaped like the real runner's, so logs read the same. Every
// line passes the secret masker first, as the real runner's terminal and
// trace do (HostContext.SecretMasker: the values of secret options such as
// --token and --jitconfig are added by CommandLineParser.cs/CommandSettings.cs
// and show as "***").

const secrets = new Set<string>();

/** Registers a value to be masked in everything the runner prints or traces. */
export function addSecret(value: string): void {
  if (value !== '') secrets.add(value);
}

/** The text with every registered secret replaced by "***" (longest first, so a secret inside another is covered). */
export function mask(text: string): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, '***');
  return out;
}

export const term = {
  line(text = ''): void {
    process.stdout.write(`${mask(text)}\n`);
  },
  section(title: string): void {
    process.stdout.write(`\n# ${mask(title)}\n\n`);
  },
  success(text: string): void {
    process.stdout.write(`√ ${mask(text)}\n`);
  },
  error(text: string): void {
    process.stderr.write(`${mask(text)}\n`);
  },
  /** A timestamped listener line, like "2024-01-01 10:00:00Z: Listening for Jobs". */
  event(text: string): void {
    const stamp = new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    process.stdout.write(`${stamp}: ${mask(text)}\n`);
  },
};

/** An error the runner reports as "An error occurred: …" and exits 1 on. */
export class RunnerError extends Error {
  override name = 'RunnerError';
}
