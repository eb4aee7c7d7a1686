/**
 * Connecting to Temporal the standard way: `@temporalio/envconfig` reads TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings and config-file profiles.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../../worker/codec/aes-gcm';
import { clientInterceptors } from '../../worker/observability';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
}

export function resolveTemporalTarget(): TemporalTarget {
  const config = loadClientConnectConfig();
  const address = config.connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: config.namespace ?? 'default',
    connectionOptions: { ...config.connectionOptions, address },
  };
}

/** `dataConverter` defaults to payload encryption from BAMBOO_ENCRYPTION_KEY (none when unset). */
export async function connectClient(
  target = resolveTemporalTarget(),
  dataConverter: DataConverter | undefined = dataConverterFromEnv(),
): Promise<Client> {
  const connection = await Connection.connect(target.connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace: target.namespace, dataConverter, interceptors: await clientInterceptors() });
}

export async function connectWorkerConnection(target = resolveTemporalTarget()): Promise<NativeConnection> {
  return NativeConnection.connect(target.connectionOptions);
}
