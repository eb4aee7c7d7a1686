/**
 * The Temporal and visibility schemas, set up by temporal-sql-tool exactly as docker-compose.yml's
 * temporal-schema service (temporalio/admin-tools) does: `create`, `setup-schema -v 0.0`, then
 * `update-schema` to the newest version from the server module's schema/postgresql/v12/<db>/versioned
 * (the image has the same directories under /etc/temporal/schema). Safe to repeat.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TEMPORAL_DATABASE, VISIBILITY_DATABASE } from './config';
import { POSTGRES_PASSWORD, POSTGRES_USER, psql } from './postgres';

export interface SchemaOptions {
  sqlTool: string;
  postgresSchemaDir: string;
  postgresBin: string;
  port: number;
  log?: (line: string) => void;
}

/** The two databases and the schema directory each is kept at. */
export const SCHEMAS = [
  { database: TEMPORAL_DATABASE, schema: 'temporal' },
  { database: VISIBILITY_DATABASE, schema: 'visibility' },
] as const;

export function setUpSchemas(options: SchemaOptions): void {
  for (const { database, schema } of SCHEMAS) {
    // All three are idempotent (an existing database, a versioned schema, an up-to-date schema are left alone).
    sqlTool(options, database, ['create']);
    sqlTool(options, database, ['setup-schema', '-v', '0.0']);
    sqlTool(options, database, ['update-schema', '-d', join(options.postgresSchemaDir, schema, 'versioned')]);
    const version = psql(options.postgresBin, options.port, database, 'SELECT curr_version FROM schema_version').output;
    options.log?.(`  ${database}: schema ${version}`);
  }
}

function sqlTool(options: SchemaOptions, database: string, command: string[]): void {
  const args = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(options.port), '-u', POSTGRES_USER, '--db', database, ...command];
  const result = spawnSync(options.sqlTool, args, { encoding: 'utf8', env: { ...process.env, SQL_PASSWORD: POSTGRES_PASSWORD }, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`temporal-sql-tool ${command.join(' ')} on ${database} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
}
