/**
 * A port `startDevServer` picked free can be taken before the server binds it (another process,
 * or the server's own services picking theirs the same way). The product retries on fresh
 * ports itself, says so, and gives up after a bounded number of attempts naming the ports.
 * The race is made, not hoped for: the test holds the port the picker hands out first.
 */
import { Connection } from '@temporalio/client';
import { createServer, type Server, type Socket } from 'node:net';
import { startDevServer, type DevServer } from '../../cli/temporal/dev-server';
import { freePort } from '../helpers/processes';

jest.setTimeout(120_000);

const held: Server[] = [];
const sockets: Socket[] = [];
let server: DevServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const socket of sockets.splice(0)) socket.destroy(); // the start's probes that reached a held port
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A port this test listens on, as a process that took it between pick and bind would. */
async function holdPort(): Promise<number> {
  const listener = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  held.push(listener);
  return (listener.address() as { port: number }).port;
}

/** Hands out `first` in order, then free ports; counts its picks. */
function picker(first: number[]) {
  const queue = [...first];
  const picked: number[] = [];
  return {
    picked,
    pickPort: async () => {
      const port = queue.shift() ?? (await freePort());
      picked.push(port);
      return port;
    },
  };
}

async function serves(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address });
  try {
    return (await connection.workflowService.describeNamespace({ namespace: 'default' })).namespaceInfo?.name === 'default';
  } finally {
    await connection.close();
  }
}

test('its gRPC port taken before it binds it, the dev server starts on a fresh port and says so', async () => {
  const taken = await holdPort();
  const ports = picker([taken]);
  const lines: string[] = [];
  server = await startDevServer({ pickPort: ports.pickPort, log: (line) => lines.push(line) });

  expect(ports.picked).toHaveLength(2);
  expect(ports.picked[0]).toBe(taken);
  expect(server.address).toBe(`127.0.0.1:${ports.picked[1]}`);
  expect(await serves(server.address)).toBe(true);
  expect(lines).toEqual([`the Temporal dev server's frontend port ${taken} was taken before it could bind it (gRPC ${taken}); starting it again on fresh ports`]);
});

test("its Web UI port taken before it binds it, the dev server starts with the UI on a fresh port and says so", async () => {
  const grpc = await freePort();
  const taken = await holdPort();
  const ports = picker([grpc, taken]); // the gRPC port is picked first, then the UI's
  const lines: string[] = [];
  server = await startDevServer({ uiPort: 'free', pickPort: ports.pickPort, log: (line) => lines.push(line) });

  expect(ports.picked.slice(0, 2)).toEqual([grpc, taken]);
  expect(ports.picked).toHaveLength(4);
  expect(server.uiUrl).toBe(`http://localhost:${ports.picked[3]}`);
  expect(await serves(server.address)).toBe(true);
  expect(lines).toEqual([`the Temporal dev server's UI port ${taken} was taken before it could bind it (gRPC ${grpc}, Web UI ${taken}); starting it again on fresh ports`]);
});

test('a port taken on every attempt ends the start after 3 attempts, naming each attempt\'s ports', async () => {
  const taken = [await holdPort(), await holdPort(), await holdPort()];
  const ports = picker(taken);
  const lines: string[] = [];
  const start = startDevServer({ pickPort: ports.pickPort, log: (line) => lines.push(line) });

  await expect(start).rejects.toThrow(
    `the Temporal dev server found a port taken on each of 3 attempts: ${taken.map((port, i) => `attempt ${i + 1} (gRPC ${port}): frontend port ${port} taken`).join('; ')}`,
  );
  expect(ports.picked).toEqual(taken);
  expect(lines).toHaveLength(2); // the two retries were announced
});
