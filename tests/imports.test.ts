// The folders' import direction (README "How it works"): scripts → lib → lock,
// image; wrapper → lock; bench → lib, lock; demo → lib, standins; every layer
// may import core/ (the shared base), which imports none of them. Never lib ↔ wrapper.
// The stand-ins import only themselves, core/constants.ts and core/bundle.ts
// (their image build bundles the simulator as the wrapper is bundled).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './support/cli.ts';

function sources(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

/** Repository-relative paths of the modules a source file imports (relative imports only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) => relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), m[1]!)));
}

function violations(folder: string, allowed: (target: string) => boolean): string[] {
  return sources(folder).flatMap((file) =>
    importsOf(file)
      .filter((target) => !allowed(target))
      .map((target) => `${file} → ${target}`),
  );
}

const inside =
  (...prefixes: string[]) =>
  (target: string) =>
    prefixes.some((p) => target.startsWith(p));

test('core/ imports only core/', () => {
  assert.deepEqual(violations('core', inside('core/')), []);
});

test('lock/ imports only lock/ and core/', () => {
  assert.deepEqual(violations('lock', inside('lock/', 'core/')), []);
});

test('wrapper/ imports wrapper/, lock/ and core/ only', () => {
  assert.deepEqual(violations('wrapper', inside('wrapper/', 'lock/', 'core/')), []);
});

test('lib/ never imports wrapper/, scripts/, bench/, demo/ or the stand-ins', () => {
  assert.deepEqual(violations('lib', inside('lib/', 'lock/', 'core/', 'image/')), []);
});

test('demo/ (make demo, the one host command that runs the stand-ins) imports lib/, lock/, core/ and standins/', () => {
  assert.deepEqual(violations('demo', inside('demo/', 'lib/', 'lock/', 'core/', 'standins/')), []);
});

test('standins/ imports only standins/, the shared names (core/constants.ts) and the bundle options (core/bundle.ts)', () => {
  assert.deepEqual(violations('standins', inside('standins/', 'core/constants.ts', 'core/bundle.ts')), []);
});

test('image/ imports only image/, lock/ and core/', () => {
  assert.deepEqual(violations('image', inside('image/', 'lock/', 'core/')), []);
});

test('lib/ root holds only the small shared base; the rest is in folders by concern', () => {
  const root = readdirSync(join(REPO_ROOT, 'lib')).filter((name) => name.endsWith('.ts'));
  assert.ok(root.length <= 8, `lib/ root has ${root.length} modules: ${root.join(', ')}`);
});
