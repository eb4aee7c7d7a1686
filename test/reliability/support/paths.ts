/** Where the reliability suite writes, and the names of the secrets it plants. */
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const RELIABILITY_OUT = join(ROOT, 'test-output', 'reliability');
export const SUMMARY_FILE = join(ROOT, 'test-output', 'reliability-summary.json');
/** Holds the provider API key (set by the global setup; workers read it by this name). */
export const PROVIDER_KEY_ENV = 'BAMBOO_REL_PROVIDER_KEY';
/** Holds the A2A bearer token. */
export const A2A_TOKEN_ENV = 'BAMBOO_REL_A2A_TOKEN';
