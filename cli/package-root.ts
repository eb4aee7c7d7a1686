/**
 * The package's own folder, from the sources (a checkout) or from dist/ (an installed package):
 * where the Temporal CLI and server binaries are cached (.cache/) and the cluster's files live.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'bamboo.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`bamboo-engine: no package root above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
