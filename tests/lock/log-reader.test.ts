// Reading locks.log from the host (lock/log-reader.ts): whole lines only,
// bounded, across chunk boundaries, and followed across polls: a half-written
// line waits for its end, a rotation is read to the end of the old file, a
// file cut short is read again, a symlink is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LogTail, openHistory, readLines } from '../../lock/log-reader.ts';
import { tempDir } from '../support/lock-helpers.ts';

function collector() {
  const lines: string[] = [];
  let tooLong = 0;
  return { sink: { line: (l: string) => lines.push(l), tooLong: () => tooLong++ }, lines, tooLong: () => tooLong };
}

describe('log reader', () => {
  test('lines across 64 KiB chunks, a too-long line skipped whole, a last line without newline only when final', async () => {
    const dir = await tempDir('logr-');
    const long = 'y'.repeat(100_000);
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 300)}`);
    await writeFile(join(dir, 'locks.log'), `${lines.slice(0, 1000).join('\n')}\n${long}\n${lines.slice(1000).join('\n')}\n\ntail`);
    const [file] = await openHistory(dir);
    const c = collector();
    const cursor = { offset: 0, skipping: false };
    await readLines(file!.handle, cursor, c.sink);
    assert.deepEqual(c.lines, lines);
    assert.equal(c.tooLong(), 1);
    await readLines(file!.handle, cursor, c.sink, { final: true });
    assert.equal(c.lines.at(-1), 'tail');
    await file!.handle.close();
  });

  test('LogTail: only what was appended, a half-written line when it ends, a rotation, a file cut short', async () => {
    const dir = await tempDir('logr-');
    const log = join(dir, 'locks.log');
    await writeFile(log, 'a\nb\n');
    const tail = new LogTail(dir);
    const c = collector();
    await tail.poll(c.sink);
    assert.deepEqual(c.lines, ['a', 'b']);
    await appendFile(log, 'c\nd-first-half');
    await tail.poll(c.sink);
    assert.deepEqual(c.lines, ['a', 'b', 'c']);
    await appendFile(log, '-second-half\ne\n');
    await tail.poll(c.sink);
    assert.deepEqual(c.lines.slice(3), ['d-first-half-second-half', 'e']);
    // rotated: what was appended to the old file before the rename is read from locks.log.1, then the new file
    await appendFile(log, 'f\n');
    await rename(log, join(dir, 'locks.log.1'));
    await writeFile(log, 'g-a-longer-line\n');
    await tail.poll(c.sink);
    assert.deepEqual(c.lines.slice(5), ['f', 'g-a-longer-line']);
    await writeFile(log, 'h\n'); // same inode, cut short
    await tail.poll(c.sink);
    assert.deepEqual(c.lines.slice(7), ['h']);
    assert.equal(tail.missedRotations, 0);
  });

  test('a symlink or a FIFO at locks.log or locks.log.1 is skipped with one line, never followed or opened to block', async () => {
    const dir = await tempDir('logr-');
    await symlink('/etc/passwd', join(dir, 'locks.log'));
    spawnSync('mkfifo', [join(dir, 'locks.log.1')]);
    const warnings: string[] = [];
    assert.deepEqual(await openHistory(dir, warnings), []);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /locks\.log is a symlink: not read: skipped$/);
    assert.match(warnings[1]!, /locks\.log\.1 is a FIFO: not read: skipped$/);
    await assert.rejects(new LogTail(dir).poll(collector().sink), /a symlink/, 'make metrics counts it as a scrape error');
  });
});
