/**
 * The package's own folder, from the sources (a checkout) or from dist/ (an installed package):
 * where the Temporal CLI and server binaries are cached (.cache/). The data that must outlive a
 * reinstall — the cluster's PostgreSQL data and state file, the dev server's SQLite file —
 * lives under `dataRoot()` instead.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'bamboo.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`bamboo-engine: no package root above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** An installed package: its root is somewhere inside a `node_modules` folder (npm, pnpm's `.pnpm` store, yarn). */
export function isInstalledPackage(packageRoot: string = PACKAGE_ROOT): boolean {
  return resolve(packageRoot).split(sep).includes('node_modules');
}

/**
 * Where Bamboo keeps data that must survive a reinstall (its `.cache/cluster`, its
 * `.cache/dev-server`): in a checkout, the checkout itself, as always; in an installed package,
 * `<cwd>/.bamboo`, because `npm ci` deletes `node_modules` and everything in it. Downloaded
 * binaries stay in the package's own `.cache/`: losing them only costs a download.
 */
export function dataRoot(packageRoot: string = PACKAGE_ROOT, cwd: string = process.cwd()): string {
  return isInstalledPackage(packageRoot) ? join(resolve(cwd), '.bamboo') : packageRoot;
}
