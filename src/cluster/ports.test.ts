import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { freePort } from './ports.ts';

test('freePort hands out distinct ports and honours a free preferred port', async () => {
  const taken = new Set<number>();
  const a = await freePort(undefined, taken);
  const b = await freePort(undefined, taken);
  assert.notEqual(a, b);
  assert.equal(await freePort(a + 0, new Set()), a);
});

test('freePort skips a preferred port that is in use', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const busy = (server.address() as { port: number }).port;
  try {
    assert.notEqual(await freePort(busy), busy);
  } finally {
    server.close();
  }
});
