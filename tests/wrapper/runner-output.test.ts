// The lines of actions/runner's stdout the wrapper acts on (wrapper/runner-output.ts).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { classifyLine, MAX_LINE_BYTES, watchRunnerOutput, type RunnerEvent } from '../../wrapper/runner-output.ts';

test('the Listener and Worker cancel lines and the job start are recognised, nothing else', () => {
  assert.deepEqual(classifyLine('2026-11-28 04:11:29Z: Running job: flash'), { type: 'job-started', job: 'flash' });
  for (const line of [
    '[RUNNER 2026-11-28 04:11:29Z INFO JobDispatcher] Job cancellation request 6f1c-22 received, cancellation timeout 5 minutes.',
    '[WORKER 2026-11-28 04:11:29Z INFO Worker] Cancellation/Shutdown message received.',
  ]) {
    assert.equal(classifyLine(line)?.type, 'cancel-requested', line);
  }
  for (const line of [
    '[RUNNER 2026-11-28 04:11:29Z INFO JobDispatcher] Job request 6f1c-22 for plan received.',
    'echo Job cancellation request 1 received',
    '2026-11-28 04:11:29Z: Job flash completed with result: Canceled',
    '',
  ]) {
    assert.equal(classifyLine(line), undefined, line);
  }
});

test('output passes through unchanged; lines split across chunks are read whole; an overlong line is not interpreted', () => {
  const input = new PassThrough();
  const out = new PassThrough();
  let copied = '';
  out.on('data', (d: Buffer) => (copied += d.toString()));
  const events: RunnerEvent[] = [];
  watchRunnerOutput(input, out, (e) => events.push(e));
  const cancel = '[WORKER 2026-11-28 04:11:29Z INFO Worker] Cancellation/Shutdown message received.\n';
  const chunks = ['2026-11-28 04:11:29Z: Running', ' job: a\n', cancel.slice(0, 20), cancel.slice(20), 'x'.repeat(MAX_LINE_BYTES), cancel];
  for (const chunk of chunks) input.write(chunk);
  assert.equal(copied, chunks.join(''));
  assert.deepEqual(
    events.map((e) => e.type),
    ['job-started', 'cancel-requested'],
  );
});

test("a job's display name is a label: made plain and short before it reaches a log or a lock record", () => {
  const event = classifyLine(`2026-11-28 04:11:29Z: Running job: \u001b[2J::warning::x${'y'.repeat(500)}`);
  assert.equal(event?.type, 'job-started');
  const job = event?.type === 'job-started' ? event.job : '';
  assert.ok(job.startsWith(':warning:xyyy'), job);
  assert.ok(job.length <= 100);
});
