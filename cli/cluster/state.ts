/**
 * The state file of a running cluster (`<dir>/cluster.json`): every process `bamboo cluster up`
 * started (pid, the program it runs, its log), every port, and how to start a service again.
 * `down` stops exactly these processes; `status` checks them. Parsed with zod: a file from an
 * older launcher or edited by hand fails with the field named.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot } from '../package-root';
import { z } from 'zod';
import { describeZodError } from '../../common';
import { TEMPORAL_SERVICES } from './config';

/**
 * Where the cluster keeps its data, configuration, logs and state (BAMBOO_CLUSTER_DIR or `--dir`
 * to move it): `.cache/cluster` in a checkout, `./.bamboo/.cache/cluster` (from where `bamboo`
 * runs) for an installed package, out of `node_modules`, which `npm ci` deletes.
 */
export const DEFAULT_CLUSTER_DIR = join(dataRoot(), '.cache', 'cluster');

export const ProcessRecordSchema = z.object({
  pid: z.number().int().positive(),
  /** A string in the process's command line: a pid that no longer shows it was reused, and is left alone. */
  marker: z.string().min(1),
  log: z.string().min(1),
});
export type ProcessRecord = z.infer<typeof ProcessRecordSchema>;

const PortsSchema = z.object({ grpc: z.number().int().positive(), membership: z.number().int().positive(), http: z.number().int().positive().optional() });

export const ClusterStateSchema = z.object({
  version: z.literal(1),
  dir: z.string(),
  startedAt: z.string(),
  serverVersion: z.string(),
  /** The frontend, for clients and workers (TEMPORAL_ADDRESS). */
  address: z.string(),
  namespace: z.string(),
  taskQueue: z.string(),
  historyShards: z.number().int().positive(),
  /** The services' log level (absent in files from before `up` resumed clusters). */
  logLevel: z.string().optional(),
  server: z.object({ binary: z.string(), root: z.string(), env: z.string() }),
  postgres: ProcessRecordSchema.extend({ port: z.number().int().positive(), bin: z.string(), dataDir: z.string() }).partial({ pid: true }),
  services: z.partialRecord(z.enum(TEMPORAL_SERVICES), ProcessRecordSchema.extend({ ports: PortsSchema })).default({}),
  ui: ProcessRecordSchema.extend({ url: z.string(), binary: z.string(), root: z.string() }).optional(),
  workers: z.array(ProcessRecordSchema).default([]),
  workerBundle: z.string().optional(),
});
export type ClusterState = z.infer<typeof ClusterStateSchema>;

export function stateFile(dir: string): string {
  return join(dir, 'cluster.json');
}

export function readState(dir: string): ClusterState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const parsed = ClusterStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Written atomically after every process started, so a failed `up` can still be taken `down`. */
export function writeState(state: ClusterState): void {
  const file = stateFile(state.dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export function removeState(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}
