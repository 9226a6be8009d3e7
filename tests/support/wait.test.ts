// The tests' one polling helper: what it returns, and what its failure says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait.ts';

test('returns the first value that is neither undefined nor false', async () => {
  let n = 0;
  assert.equal(await waitFor('n to reach 3', () => (++n >= 3 ? n : false), { timeoutMs: 2000 }), 3);
  assert.equal(await waitFor('zero', () => 0), 0, 'a falsy value other than false and undefined is a result');
});

test('a timeout names what was awaited and the last value seen', async () => {
  let n = 0;
  await assert.rejects(
    waitFor('the board free', () => (n++, false), { timeoutMs: 100, intervalMs: 10 }),
    /^Error: timed out after 100 ms waiting for the board free; the last check returned false$/,
  );
  assert.ok(n > 2, `checked ${n} times`);
  await assert.rejects(
    waitFor('a record', () => undefined, { timeoutMs: 50 }),
    /waiting for a record; the last check returned undefined$/,
  );
});

test('a check that throws is tried again; its last error is in the failure', async () => {
  let n = 0;
  assert.equal(
    await waitFor(
      'a file',
      () => {
        if (++n < 3) throw new Error('ENOENT');
        return 'there';
      },
      { timeoutMs: 2000 },
    ),
    'there',
  );
  await assert.rejects(
    waitFor(
      'the socket',
      () => {
        throw new Error('ECONNREFUSED');
      },
      { timeoutMs: 50 },
    ),
    /waiting for the socket; the last check threw: ECONNREFUSED$/,
  );
});
