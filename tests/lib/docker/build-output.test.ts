// Reading docker build's output: step lines of BuildKit's plain progress and
// of the legacy builder, the legacy builder's deprecation banner, the reason a
// build failed. The sample logs are what Docker 26's engine with the buildx
// 0.13 plugin and the legacy builder print.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bannerFilter, failureReason, parseStep, progressLine } from '../../../lib/docker/build-output.ts';

const BUILDKIT_LOG = `#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 107B done
#1 DONE 0.0s

#4 [1/3] FROM docker.io/runner-fleet-test/bookworm:minbase-sudo
#4 DONE 0.0s

#5 [2/3] RUN echo hello
#5 0.166 hello
#5 DONE 0.2s

#6 [3/3] RUN false
#6 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1
------
 > [3/3] RUN false:
------
Dockerfile:3
--------------------
   3 | >>> RUN false
--------------------
ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1`;

const LEGACY_LOG = `Sending build context to Docker daemon  2.048kB
Step 1/3 : FROM runner-fleet-test/bookworm:minbase-sudo
 ---> 9e1d3989887e
Step 2/3 : RUN echo hello
 ---> Running in 02466386c750
hello
 ---> 66251efe2913
Step 3/3 : RUN false
 ---> Running in 75f4eb2eebe0
The command '/bin/sh -c false' returned a non-zero code: 1`;

const steps = (log: string) =>
  log
    .split('\n')
    .map(parseStep)
    .filter((step) => step !== undefined);

describe('step lines', () => {
  test("BuildKit's plain progress: `#N [i/n] INSTRUCTION`, nothing else", () => {
    assert.deepEqual(steps(BUILDKIT_LOG), [
      { index: 1, total: 3, instruction: 'FROM docker.io/runner-fleet-test/bookworm:minbase-sudo' },
      { index: 2, total: 3, instruction: 'RUN echo hello' },
      { index: 3, total: 3, instruction: 'RUN false' },
    ]);
  });

  test('BuildKit names the stage of a multi-stage build', () => {
    assert.deepEqual(parseStep('#9 [builder 2/4] RUN make'), { stage: 'builder', index: 2, total: 4, instruction: 'RUN make' });
    assert.deepEqual(parseStep('#12 [stage-1 3/3] COPY --from=builder /out /opt/'), {
      stage: 'stage-1',
      index: 3,
      total: 3,
      instruction: 'COPY --from=builder /out /opt/',
    });
  });

  test('BuildKit lines that are not a step: internal work, output, the error summary', () => {
    for (const line of [
      '#1 [internal] load build definition from Dockerfile',
      '#5 0.166 hello',
      '#5 DONE 0.2s',
      '#6 CACHED',
      ' > [3/3] RUN false:',
      '#10 exporting to image',
      '#10 naming to docker.io/library/x:latest done',
    ]) {
      assert.equal(parseStep(line), undefined, line);
    }
  });

  test("the legacy builder's `Step i/n : INSTRUCTION`, nothing else", () => {
    assert.deepEqual(steps(LEGACY_LOG), [
      { index: 1, total: 3, instruction: 'FROM runner-fleet-test/bookworm:minbase-sudo' },
      { index: 2, total: 3, instruction: 'RUN echo hello' },
      { index: 3, total: 3, instruction: 'RUN false' },
    ]);
    assert.equal(parseStep(' ---> Running in 75f4eb2eebe0'), undefined);
  });

  test('a step becomes one short line naming the image; a long instruction is cut', () => {
    assert.equal(
      progressLine('gh-runner-fleet:acme', { index: 3, total: 5, instruction: 'COPY runner-state.sh /opt/runner-fleet/runner-state' }),
      'building gh-runner-fleet:acme … step 3/5: COPY runner-state.sh /opt/runner-fleet/runner-state',
    );
    const long = progressLine('x:1', {
      index: 4,
      total: 5,
      instruction: `RUN chmod 755 /opt/runner-fleet/runner-state  &&   owner="$(stat -c %u:%g /home/runner)" && mkdir -p /var/lib`,
    });
    assert.equal(long, 'building x:1 … step 4/5: RUN chmod 755 /opt/runner-fleet/runner-state && owner="$(st…');
    assert.equal(progressLine('x:1', { stage: 'builder', index: 1, total: 2, instruction: 'FROM a' }), 'building x:1 … step builder 1/2: FROM a');
  });
});

describe('the legacy builder banner', () => {
  const shown = (lines: string[]): string[] => lines.filter(bannerFilter());

  test('BuildKit disabled (DOCKER_BUILDKIT=0): the headline, its indented lines and the blank line after are dropped', () => {
    const stderr = [
      'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
      '            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0',
      '            environment-variable.',
      '',
      "The command '/bin/sh -c false' returned a non-zero code: 1",
    ];
    assert.deepEqual(shown(stderr), ["The command '/bin/sh -c false' returned a non-zero code: 1"]);
  });

  test('buildx missing: the same, with the install hint and its link', () => {
    const stderr = [
      'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
      '            Install the buildx component to build images with BuildKit:',
      '            https://docs.docker.com/go/buildx/',
      '',
      'Sending build context to Docker daemon  2.048kB',
      'Step 1/1 : FROM scratch',
    ];
    assert.deepEqual(shown(stderr), ['Sending build context to Docker daemon  2.048kB', 'Step 1/1 : FROM scratch']);
  });

  test('everything else is kept as it is: indented lines, blank lines, a build log that mentions DEPRECATED', () => {
    const log = [...LEGACY_LOG.split('\n'), '', ' ---> Using cache', '', 'RUN echo "DEPRECATED: not the banner"', 'DEPRECATED: something else'];
    assert.deepEqual(shown(log), log);
    assert.deepEqual(shown(BUILDKIT_LOG.split('\n')), BUILDKIT_LOG.split('\n'));
  });

  test('a line right after the banner with no blank between is kept', () => {
    assert.deepEqual(shown(['DEPRECATED: The legacy builder is deprecated and will be removed in a future release.', '   more', 'Step 1/1 : FROM scratch']), [
      'Step 1/1 : FROM scratch',
    ]);
  });
});

describe('why a build failed, in one line', () => {
  test("BuildKit: its last ERROR line, without the 'ERROR:'", () => {
    assert.equal(failureReason(BUILDKIT_LOG), 'failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1');
  });

  test('legacy: the command that returned non-zero', () => {
    assert.equal(failureReason(LEGACY_LOG), "The command '/bin/sh -c false' returned a non-zero code: 1");
  });

  test('a context error, or nothing recognisable', () => {
    assert.equal(failureReason('unable to prepare context: path "/nope" not found'), 'unable to prepare context: path "/nope" not found');
    assert.equal(failureReason('Step 1/1 : FROM scratch\n'), undefined);
    assert.equal(failureReason(`ERROR: ${'x'.repeat(400)}`)!.length, 240);
  });
});
