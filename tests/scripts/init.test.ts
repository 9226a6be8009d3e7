// make init says a wrong credential, permission or org at once, before it
// pulls or builds anything (a toolchain Dockerfile can take many minutes).
// Docker does not answer here: reaching it would be exit 7.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { assertOneErrorLine, READONLY_PAT, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

for (const [what, env, code, pattern] of [
  ['a wrong PAT', { GH_PAT: 'ghp_fake_wrong_pat' }, 3, /^error: GitHub rejected the PAT \(401/],
  ['a PAT without the permission', { GH_PAT: READONLY_PAT }, 3, /^error: the PAT \(GH_PAT\) lacks permission to manage runners of org acme/],
  ['an org that does not exist', { ORG: 'nosuchorg' }, 4, /^error: org nosuchorg not found or not visible/],
] as const) {
  it(`${what}: one line and exit ${code}, before Docker is asked anything`, async () => {
    const r = await fx.run('init.ts', ['-n', '1'], env);
    assert.equal(r.code, code, r.stderr);
    assertOneErrorLine(r, pattern);
    assert.doesNotMatch(r.stdout + r.stderr, /Docker|Building|Pulling/);
  });
}
