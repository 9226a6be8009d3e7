// Records and names read from the lock directory are untrusted (issue 11):
// what the parsers accept, and what they refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFresh, maxSeq, parseCounter, parseHolder, parseTicket, ticketName, ticketSeq } from '../../lock/layout.ts';

test('a holder record never names a path as its ticket', () => {
  for (const ticket of ['../../x', '/etc/passwd', '000000000001/../../x', '00000000001', '1e3', '']) {
    assert.equal(parseHolder(JSON.stringify({ runner: 'r', ticket }))?.ticket, '', ticket);
  }
  assert.equal(parseHolder(JSON.stringify({ runner: 'r', ticket: '000000000042' }))?.ticket, '000000000042');
  assert.equal(parseHolder('[1,2]'), undefined, 'an array is no record');
});

test('ticket names and the counter are bounded: 999999999999 is refused, numbering stays 12 digits', () => {
  assert.equal(ticketSeq('999999999999'), undefined);
  assert.equal(ticketSeq('000000000000'), undefined);
  assert.equal(ticketSeq(ticketName(maxSeq)), maxSeq);
  assert.equal(ticketName(maxSeq + 1).length, 12, 'one past the highest still has 12 digits (it is refused, never 13)');
  for (const bad of ['999999999999', '1000000000000', '-1', 'abc', '', '12abc', '1e9']) assert.equal(parseCounter(bad), undefined, bad);
  assert.equal(parseCounter('41\n'), 41);
});

test('an mtime in the future is not fresh, and a record cannot stretch its own stale window', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(isFresh(Date.parse('2030-01-01T00:00:00Z'), 10_000, now), false);
  assert.equal(isFresh(now - 1000, 10_000, now), true);
  assert.equal(isFresh(now + 500, 10_000, now), true, 'a heartbeat rounded up to the next second still counts');
  assert.equal(parseTicket(JSON.stringify({ staleMs: 1e15 }), 1)?.staleMs, 10_000);
  assert.equal(parseTicket(JSON.stringify({ staleMs: 4000 }), 1)?.staleMs, 4000);
});
