// Text from the lock directory (or from a job's request) on its way to a
// terminal or a job log. Jobs run pull-request code and their names end up
// in lock records: an escape sequence would drive the operator's terminal,
// and a line starting with `::` is a workflow command in whichever job log
// it is printed (actions/runner trims the line, then looks for `::`). Every
// path that prints lock-file text goes through displayText; JSON output goes
// through asciiJson.

/** ESC-introduced sequences: CSI, OSC/DCS/SOS/PM/APC strings (to BEL or ST), and two-byte escapes. */
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[ -~])?/g;
/** An 8-bit CSI (U+009B) with its parameters: a terminal in 8-bit mode acts on it. */
const C1_CSI = /\u009b[0-?]*[ -/]*[@-~]?/g;
/** C0, DEL, C1, and the invisible format characters that reorder or hide text (bidi overrides, zero-width). */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/**
 * `value` as one line of plain text: escape sequences and control characters
 * removed, every run of colons made one (no `::` is left to start a workflow
 * command), at most `max` characters (longer ends with '…').
 */
export function displayText(value: unknown, max = 200): string {
  // Any value of a record is shown as String() gives it (an object as '[object Object]'): its text is cleaned below.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  let text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  if (text.length > max * 8) text = text.slice(0, max * 8); // bounds the work; what is cut here is never shown
  text = text.replace(ESCAPES, '').replace(C1_CSI, '').replace(CONTROLS, '').replace(/:{2,}/g, ':');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * JSON for a terminal: the values unchanged (a program reading it gets what
 * the records say), but every character outside printable ASCII written as
 * \uXXXX, so the bytes printed are inert. No line of it can start with `::`:
 * each line starts with a brace, a bracket, a quote or indentation.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[^\n\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
