// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Runner.Listener/Program.cs (LoadAndSetEnv): at every start of
// Runner.Listener (config.sh and run.sh both start it, and run.sh restarts it
// in a loop) `<root>/.env` is applied over the process environment: each
// non-empty line with '=' after its first character sets KEY to the rest of
// the line, verbatim (no trimming, no quotes, no comments); `KEY=` unsets KEY.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadRunnerEnvFile(root: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = join(root, '.env');
  if (!existsSync(file)) return;
  // File.ReadAllLines splits on \r\n, \n and \r.
  for (const line of readFileSync(file, 'utf8').split(/\r\n|\n|\r/)) {
    if (line === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    if (value === '') delete env[key];
    else env[key] = value;
  }
}
