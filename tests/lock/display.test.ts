// Text from lock records on its way to a terminal or a job log (lock/display.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asciiJson, displayText } from '../../lock/display.ts';

test('escape sequences, control characters and workflow commands are taken out; plain names pass unchanged', () => {
  assert.equal(displayText('acme/firmware'), 'acme/firmware');
  assert.equal(displayText('build (ubuntu, 18) – ünïcode'), 'build (ubuntu, 18) – ünïcode');
  const hostile = [
    '\u001b[2J\u001b[31mred\u001b[0m', // CSI: clear screen, colours
    '\u001b]0;title\u0007x', // OSC: window title
    '\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\', // OSC 8 hyperlink
    '\u009b31mc1', // 8-bit CSI
    'a\u0000b\u0008c\u007fd\u0085e', // NUL, backspace, DEL, NEL
    'evil\u202egnp.exe', // right-to-left override
    'line\nbreak\r::warning::pwned',
  ];
  for (const text of hostile) {
    const out = displayText(text);
    assert.doesNotMatch(out, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/, JSON.stringify(text));
    assert.doesNotMatch(out, /::/, JSON.stringify(text));
  }
  assert.equal(displayText('\u001b[31mred\u001b[0m'), 'red');
  assert.equal(displayText('::warning::x'), ':warning:x');
  assert.equal(displayText(': :'), ': :');
});

test('long text is cut with an ellipsis, and non-strings become text', () => {
  const out = displayText('x'.repeat(10_000), 50);
  assert.equal(out.length, 50);
  assert.ok(out.endsWith('…'));
  assert.equal(displayText(undefined), '');
  assert.equal(displayText(42), '42');
});

test('JSON for a terminal keeps every value but prints only printable ASCII', () => {
  const value = { repository: '\u001b[2J::warning::x\u009b\u202eé😀', runId: '1' };
  const text = asciiJson(value);
  assert.match(text, /^[\n\x20-\x7e]*$/, 'a byte outside printable ASCII was printed');
  assert.deepEqual(JSON.parse(text), value, 'a value was changed');
  for (const line of text.split('\n')) assert.doesNotMatch(line.trim(), /^::/, 'a line starts a workflow command');
});
