import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarStream, type TarEntry } from './tar.ts';

async function bytes(entries: TarEntry[], mtime = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, mtime)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const longName = `app/node_modules/${'very-long-package-name/'.repeat(6)}index.js`;
const entries: TarEntry[] = [
  { type: 'dir', path: 'app', mode: 0o755, uid: 0, gid: 0 },
  {
    type: 'file',
    path: 'app/run',
    mode: 0o755,
    uid: 0,
    gid: 0,
    data: Buffer.from('#!/usr/local/bin/node\n'),
  },
  { type: 'file', path: longName, mode: 0o644, uid: 0, gid: 0, data: Buffer.from('x'.repeat(1000)) },
  { type: 'file', path: 'app/empty', mode: 0o644, uid: 0, gid: 0, data: Buffer.alloc(0) },
  { type: 'symlink', path: 'app/link', mode: 0o777, uid: 0, gid: 0, target: 'run' },
  { type: 'dir', path: 'home/nonroot', mode: 0o755, uid: 65532, gid: 65532 },
  { type: 'dir', path: 'tmp', mode: 0o1777, uid: 0, gid: 0 },
];

test('the same entries give the same bytes, whole 512-byte blocks ending in two zero blocks', async () => {
  const a = await bytes(entries);
  const b = await bytes(entries);
  assert.ok(a.equals(b));
  assert.equal(a.length % 512, 0);
  assert.ok(a.subarray(-1024).equals(Buffer.alloc(1024)));
  assert.ok(!a.equals(await bytes(entries, 1)), 'the mtime is in the headers');
});

test('GNU tar reads it back: long names (PAX), modes, owners, symlinks, content', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tar-test-'));
  try {
    writeFileSync(join(dir, 'layer.tar'), await bytes(entries, 1_700_000_000));
    const list = spawnSync('tar', ['-tvf', join(dir, 'layer.tar'), '--numeric-owner'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /drwxr-xr-x 65532\/65532 .* home\/nonroot\//);
    assert.match(list.stdout, /drwxrwxrwt 0\/0 .* tmp\//);
    assert.ok(list.stdout.includes(longName), 'the long path is whole');
    const out = join(dir, 'out');
    spawnSync('mkdir', [out]);
    const extract = spawnSync('tar', ['-xf', join(dir, 'layer.tar'), '-C', out], { encoding: 'utf8' });
    assert.equal(extract.status, 0, extract.stderr);
    assert.equal(readFileSync(join(out, longName), 'utf8'), 'x'.repeat(1000));
    assert.equal(readlinkSync(join(out, 'app/link')), 'run');
    assert.equal(statSync(join(out, 'app/run')).mode & 0o777, 0o755);
    assert.equal(statSync(join(out, 'app/run')).mtimeMs, 1_700_000_000_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
