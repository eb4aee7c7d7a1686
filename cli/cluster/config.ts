/**
 * The server's static configuration for the cluster: the postgres12 branch of the server
 * module's docker/config_template.yaml (what the temporalio/server image renders for
 * docker-compose.yml) with the values compose passes it, and every service on its own loopback
 * ports so that four processes share one machine. Written as JSON, which is YAML.
 *
 * The Web UI server's configuration is the temporalio/ui image's, pointed at the frontend.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { DEFAULT_TASK_QUEUE } from '../../common';
import { POSTGRES_PASSWORD, POSTGRES_USER } from './postgres';

/** The Temporal services, each started as its own process (the image's SERVICES, one per container in a real deployment). */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** `bamboo cluster up`'s defaults; docker-compose.yml runs the same shard count and log level. */
export const UP_DEFAULTS = { workers: 2, port: 7233, historyShards: 4, namespace: 'default', taskQueue: DEFAULT_TASK_QUEUE, logLevel: 'warn' };

export const TEMPORAL_DATABASE = 'temporal';
export const VISIBILITY_DATABASE = 'temporal_visibility';
/** The dynamic configuration docker-compose.yml mounts too. */
export const DYNAMIC_CONFIG_FILE = join(PACKAGE_ROOT, 'cli', 'cluster', 'dynamicconfig.yaml');

export interface ServicePorts {
  grpc: number;
  membership: number;
  /** The frontend's HTTP API (frontend only). */
  http?: number;
}

export interface ServerConfigOptions {
  postgresPort: number;
  ports: Record<TemporalService, ServicePorts>;
  /** Fixed for the life of the database (default 4, as the image's NUM_HISTORY_SHARDS). */
  historyShards: number;
  /** Server log level (compose: LOG_LEVEL). */
  logLevel: string;
}

function datastore(database: string, postgresPort: number, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `127.0.0.1:${postgresPort}`,
      connectProtocol: 'tcp',
      user: POSTGRES_USER,
      password: POSTGRES_PASSWORD,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

function rpc(ports: ServicePorts) {
  return {
    rpc: {
      grpcPort: ports.grpc,
      membershipPort: ports.membership,
      bindOnIP: '127.0.0.1',
      ...(ports.http !== undefined ? { httpPort: ports.http } : {}),
    },
  };
}

/** The server configuration (the template's defaults: 20 + 10 connections per service, archival off per namespace). */
export function serverConfig(options: ServerConfigOptions) {
  const frontend = options.ports.frontend;
  return {
    log: { stdout: true, level: options.logLevel },
    persistence: {
      numHistoryShards: options.historyShards,
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        default: datastore(TEMPORAL_DATABASE, options.postgresPort, 20),
        visibility: datastore(VISIBILITY_DATABASE, options.postgresPort, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: 0 },
    },
    services: Object.fromEntries(TEMPORAL_SERVICES.map((name) => [name, rpc(options.ports[name])])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${frontend.grpc}`,
          httpAddress: `127.0.0.1:${frontend.http}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: DYNAMIC_CONFIG_FILE, pollInterval: '60s' },
  };
}

/**
 * Writes `<dir>/config/cluster.yaml`, loaded by `server --root <dir> --config config --env cluster`.
 * Returns the config directory.
 */
export function writeServerConfig(dir: string, options: ServerConfigOptions): string {
  const configDir = join(dir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'cluster.yaml'), `# written by bamboo cluster up; see cli/cluster/config.ts\n${JSON.stringify(serverConfig(options), null, 2)}\n`);
  return configDir;
}

/** The Web UI server's config (`ui-server --root <dir>/ui --env cluster start`), as the temporalio/ui image's defaults. */
export function writeUiConfig(dir: string, options: { port: number; frontendAddress: string; codecEndpoint?: string }): string {
  const root = join(dir, 'ui');
  mkdirSync(join(root, 'config'), { recursive: true });
  const config = {
    temporalGrpcAddress: options.frontendAddress,
    host: '127.0.0.1',
    port: options.port,
    enableUi: true,
    defaultNamespace: 'default',
    refreshInterval: '1m',
    showTemporalSystemNamespace: false,
    notifyOnNewVersion: false,
    cors: { allowOrigins: [`http://localhost:${options.port}`], cookieInsecure: true },
    codec: { endpoint: options.codecEndpoint ?? '' },
  };
  writeFileSync(join(root, 'config', 'cluster.yaml'), `${JSON.stringify(config, null, 2)}\n`);
  return root;
}
