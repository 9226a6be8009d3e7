// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Console output shaped like the real runner's, so logs read the same.

export const term = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  section(title: string): void {
    process.stdout.write(`\n# ${title}\n\n`);
  },
  success(text: string): void {
    process.stdout.write(`√ ${text}\n`);
  },
  error(text: string): void {
    process.stderr.write(`${text}\n`);
  },
  /** A timestamped listener line, like "2024-01-01 10:00:00Z: Listening for Jobs". */
  event(text: string): void {
    const stamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    process.stdout.write(`${stamp}: ${text}\n`);
  },
};

/** An error the runner reports as "An error occurred: …" and exits 1 on. */
export class RunnerError extends Error {
  override name = 'RunnerError';
}
