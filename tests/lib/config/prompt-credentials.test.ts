// First run on a terminal: the toolkit asks for ORG, REPO and a credential (a
// GitHub App, or a PAT, hidden) and saves them to .env. A real pseudo-terminal
// (util-linux `script`) drives it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../support/cli.ts';

const PAT = 'ghp_fake_prompt_round_trip';

test('prompt answers are checked, then saved to .env with mode 0600, comments kept, PAT never echoed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-prompt-'));
  await writeFile(join(dir, '.env'), '# lab settings\nRUNNER_LABELS=gpu # our label\n', { mode: 0o644 });
  const command = `${process.execPath} --import ${import.meta.resolve('tsx')} ${REPO_ROOT}scripts/compose.ts -n 1 --stdout`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { PATH: process.env.PATH, TERM: 'xterm' } });
  let screen = '';
  const answers: Array<[RegExp, string]> = [
    // a typo is refused before anything is saved, then corrected in place
    [/GitHub organization/, 'ac me\r'],
    [/is not a GitHub organization name/, `${'\x7f'.repeat(5)}acme\r`],
    [/Repository for repo-scoped runners/, 'widgets\r'],
    // both ways are offered; the second is the PAT
    [/How should the toolkit sign in to GitHub\?[\s\S]*GitHub App[\s\S]*Personal access token/, '\x1b[B\r'],
    [/Personal access token \(GH_PAT\)/, `${PAT}\r`],
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

type Answer = [RegExp, string | (() => Promise<string>)];

/** Drives the prompt of compose.ts in a pseudo-terminal through `answers`; returns the exit code and the screen. */
async function drive(dir: string, answers: Answer[]): Promise<{ code: number | null; screen: string }> {
  const command = `${process.execPath} --import ${import.meta.resolve('tsx')} ${REPO_ROOT}scripts/compose.ts -n 1 --stdout`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { PATH: process.env.PATH, TERM: 'xterm' } });
  let screen = '';
  let seen = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    const next = answers[0];
    // Each answer waits for its question to appear after the previous answer.
    if (next && next[0].test(screen.slice(seen))) {
      answers.shift();
      seen = screen.length;
      void (typeof next[1] === 'string' ? Promise.resolve(next[1]) : next[1]()).then((text) => child.stdin.write(text));
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, screen };
}

test('the GitHub App way: App ID checked, a key file others can read refused with the chmod, installation ID optional; saved without the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-prompt-app-'));
  const key = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  const keyFile = join(dir, 'app.pem');
  await writeFile(keyFile, key, { mode: 0o644 });
  await chmod(keyFile, 0o644);
  const answers: Answer[] = [
    [/GitHub organization/, 'acme\r'],
    [/Repository for repo-scoped runners/, '\r'],
    [/How should the toolkit sign in to GitHub\?[\s\S]*GitHub App[\s\S]*Personal access token/, '\r'],
    [/GitHub App ID \(GH_APP_ID\)/, 'app\r'],
    [/is not a GitHub App ID/, `${'\x7f'.repeat(3)}123456\r`],
    [/Private key file of the App/, `${keyFile}\r`],
    // refused; fixed as the message says, then Enter again on the same answer
    [/can be read by[\s\S]*other users \(mode 0644\): chmod 600/, async () => (await chmod(keyFile, 0o600), '\r')],
    [/Installation ID \(GH_APP_INSTALLATION_ID, empty to look it up\)/, '\r'],
  ];
  const { code, screen } = await drive(dir, answers);
  assert.equal(code, 0, screen);
  assert.equal(answers.length, 0, `every question was asked; left: ${answers.map(([q]) => q.source).join(', ')}`);
  assert.ok(!screen.includes('PRIVATE KEY'), 'the key is never shown');
  const saved = await readFile(join(dir, '.env'), 'utf8');
  assert.equal(saved, `ORG=acme\nGH_APP_ID=123456\nGH_APP_PRIVATE_KEY_FILE=${keyFile}\n`);
  assert.equal((await stat(join(dir, '.env'))).mode & 0o777, 0o600);
});
