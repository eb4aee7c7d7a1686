/**
 * What the scenarios share: a client of the suite's main dev server, and every Temporal
 * server the suite used (the secrets scenario exports every history of each).
 */
import { Client, Connection } from '@temporalio/client';
import { testServer } from '../../helpers/temporal';

export interface KnownServer {
  label: string;
  address: string;
  namespace: string;
  /** Task queues used on it, by scenario (histories are attributed to scenarios by task queue). */
  taskQueues: Map<string, string>;
  stop?: () => Promise<void>;
}

export const servers: KnownServer[] = [];
const clients = new Map<string, Client>();

export function mainServer(): KnownServer {
  let server = servers.find((s) => s.label === 'main');
  if (!server) {
    const { address, namespace } = testServer();
    server = { label: 'main', address, namespace, taskQueues: new Map() };
    servers.unshift(server);
  }
  return server;
}

export function registerServer(server: KnownServer): KnownServer {
  const existing = servers.find((s) => s.label === server.label);
  if (existing) {
    Object.assign(existing, server, { taskQueues: existing.taskQueues });
    return existing;
  }
  servers.push(server);
  return server;
}

/** A client of that address (one per address, closed by `closeClients`). */
export async function clientFor(address: string, namespace = 'default'): Promise<Client> {
  const key = `${address}/${namespace}`;
  let client = clients.get(key);
  if (!client) {
    client = new Client({ connection: await Connection.connect({ address }), namespace });
    clients.set(key, client);
  }
  return client;
}

export async function mainClient(): Promise<Client> {
  const server = mainServer();
  return clientFor(server.address, server.namespace);
}

export async function closeClients(): Promise<void> {
  await Promise.all([...clients.values()].map((c) => c.connection.close().catch(() => undefined)));
  clients.clear();
}

/** Remembers which scenario used a task queue on a server. */
export function useQueue(server: KnownServer, taskQueue: string, scenario: string): string {
  server.taskQueues.set(taskQueue, scenario);
  return taskQueue;
}
