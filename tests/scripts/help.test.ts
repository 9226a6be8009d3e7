// Every script answers --help with the usage lines of its header, exit 0,
// without needing any setting, Docker or GitHub.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REPO_ROOT, runScript } from '../support/cli.ts';

const scripts = readdirSync(`${REPO_ROOT}scripts`).filter((name) => name.endsWith('.ts'));

test('every script prints its usage for --help', async () => {
  assert.ok(scripts.length >= 15, `found ${scripts.length} scripts`);
  for (const script of scripts) {
    const result = await runScript(script, ['--help'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    assert.equal(result.code, 0, `${script}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`\\./scripts/${script.replace('.', '\\.')}`), script);
    assert.doesNotMatch(result.stdout, /^\/\//m, `${script}: comment markers stripped`);
  }
});

test('a bad flag points at --help', async () => {
  const result = await runScript('ps.ts', ['--nope'], { env: {} });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: Unknown option '--nope'.*\(see --help\)\n$/);
});

/** The long flags a script declares to parseScriptArgs (`name: { type: …`). */
function declaredFlags(source: string): string[] {
  const call = /parseScriptArgs\(\s*\{([\s\S]*?)\}\s*\)/.exec(source)?.[1] ?? '';
  return [...call.matchAll(/['"]?([a-z][\w-]*)['"]?\s*:\s*\{\s*type\s*:/g)].map((m) => m[1]!);
}

test('every flag of every script is reachable from make (a variable maps onto it)', () => {
  const makefile = readFileSync(`${REPO_ROOT}Makefile`, 'utf8');
  // `x_flag = $(if $(X),--x)` helpers, expanded into the recipes that use them.
  const helpers = new Map([...makefile.matchAll(/^(\w+)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const expand = (line: string): string => line.replace(/\$\((\w+)\)/g, (whole, name: string) => helpers.get(name) ?? whole);
  const unreachable: string[] = [];
  for (const script of scripts) {
    const recipes = makefile
      .split('\n')
      .filter((line) => line.includes(`./scripts/${script}`))
      .map(expand)
      .join('\n');
    if (!recipes) continue; // not behind a make target (bench's helpers, say): checked by its own tests
    for (const flag of declaredFlags(readFileSync(`${REPO_ROOT}scripts/${script}`, 'utf8'))) {
      if (flag === 'help') continue;
      if (!recipes.includes(`--${flag}`)) unreachable.push(`${script} --${flag}`);
    }
  }
  assert.deepEqual(unreachable, []);
});
