/**
 * Free loopback ports, so several clusters (the dev cluster, a test run, CI) can run side
 * by side on one machine.
 */
import { createServer } from 'node:net';

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A port that is free on 127.0.0.1 right now: `preferred` when it is free (so a restarted
 * cluster keeps its addresses), otherwise one the kernel picks. Ports already handed out
 * in this call sequence (`taken`) are never returned twice.
 */
export async function freePort(preferred?: number, taken: Set<number> = new Set()): Promise<number> {
  if (preferred && !taken.has(preferred) && (await tryListen(preferred)) === preferred) {
    taken.add(preferred);
    return preferred;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tryListen(0);
    if (port && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port on 127.0.0.1: too many ports in use; free some and retry');
}
