// A test appender: one process appending `--count` numbered lines to a lock
// directory's locks.log, several at a time, with a small rotation cap, as
// wrappers of several containers do (tests/lock/lock-log.test.ts).
import { parseArgs } from 'node:util';
import { appendLockLog } from '../../lock/lock-log.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    name: { type: 'string', default: 'a' },
    count: { type: 'string', default: '100' },
    'max-bytes': { type: 'string', default: '65536' },
    parallel: { type: 'string', default: '8' },
  },
});

const count = Number(values.count);
const parallel = Number(values.parallel);
const pad = 'x'.repeat(60); // lines of about 150 bytes, as the real ones
let next = 0;
await Promise.all(
  Array.from({ length: parallel }, async () => {
    for (let i = next++; i < count; i = next++) {
      await appendLockLog(values.dir ?? '', { event: 'test', resource: 'board-a', id: `${values.name}-${i}`, pad }, { maxBytes: Number(values['max-bytes']) });
    }
  }),
);
