// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// `run.sh --jitconfig <B64>` (or ACTIONS_RUNNER_INPUT_JITCONFIG), as
// Runner.Listener/Runner.cs (ExecuteCommand) applies it before loading the
// settings: the value is base64 (Convert.FromBase64String) of UTF-8 JSON
// mapping file names to base64 of the file's bytes (Dictionary<string,
// string>); each file is written, in order, to Path.Combine(<root>, name)
// with File.WriteAllBytes: replaced if it exists, created with the default
// mode (0666 less the umask: not owner-only, unlike config.sh's credentials),
// nothing else checked (an absolute name is written where it points). Any
// failure: the exception's message on stderr and return code 1
// (TerminatedError); files written before the failure stay.
//
// Exact: what is decoded, what is written where, the return code, and the
// messages of the base64 and null cases (.NET's). Approximate: the wording of
// JSON errors (Newtonsoft.Json's messages carry positions the simulator does
// not compute).
import { writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Trace } from './trace.ts';

/** An error Runner.cs reports with its message alone, returning TerminatedError. */
export class JitConfigError extends Error {
  override name = 'JitConfigError';
}

const BAD_LENGTH = 'Invalid length for a Base-64 char array or string.';
const BAD_CHAR =
  'The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.';
const DICTIONARY = 'System.Collections.Generic.Dictionary`2[System.String,System.String]';

/**
 * Convert.FromBase64String: white space (space, tab, CR, LF) anywhere is
 * skipped; what is left must be a multiple of 4 characters of A–Z a–z 0–9 + /
 * with at most two '=' at the very end. Node's Buffer.from(…, 'base64') is
 * far more lenient (URL-safe letters, junk skipped, padding optional).
 */
export function fromBase64Strict(text: string | null): Buffer {
  if (text === null) throw new JitConfigError("Value cannot be null. (Parameter 's')");
  const s = text.replace(/[ \t\r\n]/g, '');
  if (s.length % 4 !== 0) throw new JitConfigError(BAD_LENGTH);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new JitConfigError(BAD_CHAR);
  return Buffer.from(s, 'base64');
}

/** Newtonsoft's Dictionary<string,string>: an object whose values are strings (numbers and booleans read as their text) or null. */
function parseDictionary(json: string): [string, string | null][] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    const first = json.trimStart()[0] ?? '';
    throw new JitConfigError(`Unexpected character encountered while parsing value: ${first}. Path '', line 1, position 1.`);
  }
  // An empty document or null deserializes to a null dictionary, which Runner.cs then enumerates.
  if (value === null || json.trim() === '') throw new JitConfigError('Object reference not set to an instance of an object.');
  if (Array.isArray(value)) {
    throw new JitConfigError(
      `Cannot deserialize the current JSON array (e.g. [1,2,3]) into type '${DICTIONARY}' because the type requires a JSON object (e.g. {"name":"value"}) to deserialize correctly.`,
    );
  }
  if (typeof value !== 'object') throw new JitConfigError(`Error converting value ${JSON.stringify(value)} to type '${DICTIONARY}'.`);
  return Object.entries(value as Record<string, unknown>).map(([key, v]) => {
    if (v === null || typeof v === 'string') return [key, v];
    if (typeof v === 'number' || typeof v === 'boolean') return [key, typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)];
    throw new JitConfigError(`Unexpected character encountered while parsing value: ${Array.isArray(v) ? '[' : '{'}. Path '${key}'.`);
  });
}

/** Decodes the JIT config and writes its files into the runner root; throws JitConfigError like Runner.cs fails. */
export function applyJitConfig(root: string, encoded: string, trace: Trace): void {
  // Encoding.UTF8.GetString: invalid sequences become U+FFFD, no error.
  const json = new TextDecoder('utf-8').decode(fromBase64Strict(encoded));
  for (const [name, value] of parseDictionary(json)) {
    const file = isAbsolute(name) ? name : join(root, name); // Path.Combine
    const content = fromBase64Strict(value);
    try {
      writeFileSync(file, content);
    } catch (err) {
      throw new JitConfigError(err instanceof Error ? err.message : String(err));
    }
    trace.info('Runner', `Saved ${content.length} bytes to '${file}'.`);
  }
}
