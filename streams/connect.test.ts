import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBrokersReachable } from './connect.js';

describe('assertBrokersReachable', () => {
  const servers: Server[] = [];
  afterAll(() => { for (const s of servers) s.close(); });
  const listening = async (): Promise<number> => {
    const s = createServer((sock) => sock.destroy());
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return (s.address() as AddressInfo).port;
  };
  const closedPort = async (): Promise<number> => {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  };

  it('passes when one broker of the list accepts a connection', async () => {
    await expect(assertBrokersReachable([`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await listening()}`])).resolves.toBeUndefined();
  });

  it('fails at once with the socket code and the address when none does', async () => {
    const port = await closedPort();
    await expect(assertBrokersReachable([`127.0.0.1:${port}`])).rejects.toMatchObject({ code: 'ECONNREFUSED', message: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });
});
