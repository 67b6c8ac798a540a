import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePins, pinsFor, PINS_FILE } from './debian.ts';

const hash = 'a'.repeat(64);

test('the committed pins parse, and pin what Node needs to run', () => {
  const pins = parsePins(readFileSync(PINS_FILE, 'utf8'));
  const names = pins.map((pin) => pin.name);
  for (const name of ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1', 'ca-certificates'])
    assert.ok(names.includes(name), `${name} is pinned`);
});

test('a malformed line is refused with its line number', () => {
  assert.throws(
    () => parsePins(`# comment\nlibc6 2.36 amd64\n`),
    /debian-packages\.txt:2: expected 'name version architecture sha256'/,
  );
  assert.throws(() => parsePins(`libc6 2.36 amd64 not-a-hash\n`), /:1:/);
});

test('pins apply per architecture; a package without one for this architecture is named', () => {
  const pins = parsePins(`libc6 1 amd64 ${hash}\nca-certificates 2 all ${hash}\nlibc6 1 arm64 ${hash}\n`);
  assert.deepEqual(
    pinsFor(pins, 'amd64').map((p) => `${p.name}:${p.architecture}`),
    ['libc6:amd64', 'ca-certificates:all'],
  );
  assert.throws(() => pinsFor(pins, 'riscv64'), /no riscv64 version of libc6.*--repin/);
});
