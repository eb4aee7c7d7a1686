/**
 * What every CLI command shares: the Temporal connection (envconfig, overridable by flags),
 * output in text or `--json`, and errors that map to documented exit codes.
 */
import { Client, Connection } from '@temporalio/client';
import type { z } from 'zod';
import { BambooClient } from '../client/bamboo-client';
import { describeZodError, errorMessage } from '../common';
import { taskQueue } from '../worker/config/env';
import { dataConverterFromEnv } from '../worker/codec/aes-gcm';
import { resolveTemporalTarget } from './temporal/connection';
import { clientInterceptors, flushTraces } from '../worker/observability';

/** Exit codes (docs/operations.md#exit-codes). */
export const ExitCode = { ok: 0, failed: 1, usage: 2, notFound: 3, unreachable: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  address?: string;
  namespace?: string;
  json?: boolean;
}

export async function connect(options: GlobalOptions): Promise<Client> {
  const target = resolveTemporalTarget();
  const address = options.address ?? target.address;
  const namespace = options.namespace ?? target.namespace;
  const dataConverter = dataConverterFromEnv(); // outside the try: a malformed key is not "unreachable"
  const interceptors = await clientInterceptors(); // likewise a malformed OTEL_* variable
  try {
    const connection = await Connection.connect({ ...target.connectionOptions, address, connectTimeout: 5000 } as Parameters<typeof Connection.connect>[0]);
    return new Client({ connection, namespace, dataConverter, interceptors });
  } catch (error) {
    throw new CliError(
      `cannot reach the Temporal server at ${address} (${errorMessage(error)}); ` +
        'start one with `bamboo dev` or `npm run dev-server`, or set TEMPORAL_ADDRESS',
      ExitCode.unreachable,
    );
  }
}

export function print(options: GlobalOptions, json: unknown, text: () => string): void {
  console.log(options.json ? JSON.stringify(json, null, 2) : text());
}

/** Runs a command body with a connected client, closing it afterwards. */
export async function withClient<T>(options: GlobalOptions, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(options);
  try {
    return await body(client);
  } finally {
    await client.connection.close();
    await flushTraces(); // the process exits right after: send the command's spans first
  }
}

/**
 * The client commands talk to sessions through, the one a library user has. `startsRuns`: the
 * command may start a workflow run, on BAMBOO_TASK_QUEUE; only then is that variable read (with
 * the rest of the worker's environment, which a command that starts nothing does not check).
 */
export function bambooClient(client: Client, { startsRuns }: { startsRuns: boolean }): BambooClient {
  return new BambooClient(client, startsRuns ? { taskQueue: taskQueue() } : {});
}

/** Runs a command body with a `BambooClient` on a connected client, closing it afterwards. */
export function withBamboo<T>(options: GlobalOptions, body: (bamboo: BambooClient) => Promise<T>, { startsRuns = false } = {}): Promise<T> {
  return withClient(options, (client) => body(bambooClient(client, { startsRuns })));
}

/** Validates what a command is about to send, before connecting: bad values are bad usage (exit 2). */
export function validated<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliError(`invalid ${what}: ${describeZodError(result.error)}`, ExitCode.usage);
  return result.data;
}

