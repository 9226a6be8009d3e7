// First run on a terminal: the toolkit asks for ORG, REPO and the PAT (hidden)
// and saves them to .env. A real pseudo-terminal (util-linux `script`) drives it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../support/cli.ts';

const PAT = 'ghp_fake_prompt_round_trip';

test('prompt answers are checked, then saved to .env with mode 0600, comments kept, PAT never echoed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-prompt-'));
  await writeFile(join(dir, '.env'), '# lab settings\nRUNNER_LABELS=gpu # our label\n', { mode: 0o644 });
  const command = `${process.execPath} --import ${import.meta.resolve('tsx')} ${REPO_ROOT}scripts/generate-compose.ts -n 1 --stdout`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { PATH: process.env.PATH, TERM: 'xterm' } });
  let screen = '';
  const answers: Array<[RegExp, string]> = [
    // a typo is refused before anything is saved, then corrected in place
    [/GitHub organization/, 'ac me\r'],
    [/is not a GitHub organization name/, `${'\x7f'.repeat(5)}acme\r`],
    [/Repository for repo-scoped runners/, 'widgets\r'],
    [/Personal access token/, `${PAT}\r`],
  ];
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    const next = answers[0];
    if (next && next[0].test(screen)) {
      answers.shift();
      child.stdin.write(next[1]);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, screen);
  assert.equal(answers.length, 0, 'every question was asked');
  assert.ok(!screen.includes(PAT), 'the PAT is not echoed');
  assert.match(screen, /container_name: [\w.-]+-acme_widgets-runner-1/);

  const saved = await readFile(join(dir, '.env'), 'utf8');
  assert.equal(saved, `# lab settings\nRUNNER_LABELS=gpu # our label\nORG=acme\nREPO=widgets\nGH_PAT=${PAT}\n`);
  assert.equal((await stat(join(dir, '.env'))).mode & 0o777, 0o600);
});
