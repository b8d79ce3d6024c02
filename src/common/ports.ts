/** Free loopback ports for services and scenarios that need one before they start, and whether one accepts. */
import { connect, createServer, type Server } from 'node:net';

/** `count` distinct loopback ports that were free a moment ago: all bound at once (so none repeats), then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => ok());
      });
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('cannot allocate a loopback port');
      ports.push(address.port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return ports;
}

/** One loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/** One TCP connect attempt: null when it was accepted, else why not. */
export function tryConnect(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    const done = (why: string | null): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolveConnect(why);
    };
    const timer = setTimeout(() => done('connect timed out'), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
