// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Runner.Listener/Program.cs (LoadAndSetEnv): at every start of
// Runner.Listener (config.sh and run.sh both start it, and run.sh restarts it
// in a loop) `<root>/.env` is applied over the process environment: each
// non-empty line with '=' after its first character sets KEY to the rest of
// the line, verbatim (no trimming, no quotes, no comments); `KEY=` unsets KEY.
// The file is read with File.ReadAllLines, whose StreamReader takes a leading
// byte order mark (UTF-8, UTF-16, UTF-32) for the encoding and drops it, so a
// first line behind one sets its key like any other; without one, UTF-8.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file's text as File.ReadAllLines decodes it. */
export function decodeAsReadAllLines(bytes: Buffer): string {
  const starts = (...mark: number[]): boolean => mark.every((v, i) => bytes[i] === v);
  const decode = (encoding: string, from: number): string => new TextDecoder(encoding, { ignoreBOM: true }).decode(bytes.subarray(from));
  const utf32 = (little: boolean): string => {
    let out = '';
    for (let i = 4; i + 4 <= bytes.length; i += 4) {
      const cp = little ? bytes.readUInt32LE(i) : bytes.readUInt32BE(i);
      out += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\uFFFD';
    }
    return out;
  };
  if (starts(0xef, 0xbb, 0xbf)) return decode('utf-8', 3);
  if (starts(0xff, 0xfe, 0, 0)) return utf32(true);
  if (starts(0xff, 0xfe)) return decode('utf-16le', 2);
  if (starts(0xfe, 0xff)) return decode('utf-16be', 2);
  if (starts(0, 0, 0xfe, 0xff)) return utf32(false);
  return decode('utf-8', 0);
}

export function loadRunnerEnvFile(root: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = join(root, '.env');
  if (!existsSync(file)) return;
  // File.ReadAllLines splits on \r\n, \n and \r.
  for (const line of decodeAsReadAllLines(readFileSync(file)).split(/\r\n|\n|\r/)) {
    if (line === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    if (value === '') delete env[key];
    else env[key] = value;
  }
}
