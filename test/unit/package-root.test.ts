/**
 * Where Bamboo keeps data that must outlive a reinstall: the checkout in a checkout, the
 * caller's `./.bamboo` when the package is installed (inside node_modules, which `npm ci`
 * deletes); and how a cluster worker is launched (the caller's folder, an absolute BAMBOO_CONFIG).
 */
import { join } from 'node:path';
import { DEFAULT_CLUSTER_DIR } from '../../cli/cluster/state';
import { workerLaunch } from '../../cli/cluster/services';
import { DEFAULT_DB_FILE } from '../../cli/devserver/embedded';
import { dataRoot, isInstalledPackage, PACKAGE_ROOT } from '../../cli/package-root';
import type { ClusterState } from '../../cli/cluster/state';

test('a checkout keeps its data in the checkout', () => {
  expect(dataRoot('/src/bamboo-engine', '/somewhere/else')).toBe('/src/bamboo-engine');
  expect(isInstalledPackage('/src/bamboo-engine')).toBe(false);
  // A folder merely named like it is not node_modules.
  expect(dataRoot('/src/my_node_modules_tools/bamboo', '/p')).toBe('/src/my_node_modules_tools/bamboo');
});

test('an installed package keeps its data in the caller’s ./.bamboo, out of node_modules', () => {
  expect(dataRoot('/home/u/app/node_modules/bamboo-engine', '/home/u/app')).toBe('/home/u/app/.bamboo');
  // pnpm's store and a scoped or nested install are inside node_modules too.
  expect(dataRoot('/home/u/app/node_modules/.pnpm/bamboo-engine@0.1.0/node_modules/bamboo-engine', '/home/u/app')).toBe('/home/u/app/.bamboo');
  expect(dataRoot('/home/u/app/node_modules/tool/node_modules/bamboo-engine', '/home/u/app/sub')).toBe('/home/u/app/sub/.bamboo');
  expect(isInstalledPackage('/home/u/app/node_modules/bamboo-engine')).toBe(true);
});

test('this checkout: the cluster and the dev server keep their data under its .cache, as before', () => {
  expect(isInstalledPackage()).toBe(false);
  expect(dataRoot()).toBe(PACKAGE_ROOT);
  expect(DEFAULT_CLUSTER_DIR).toBe(join(PACKAGE_ROOT, '.cache', 'cluster'));
  expect(DEFAULT_DB_FILE).toBe(join(PACKAGE_ROOT, '.cache', 'dev-server', 'bamboo.sqlite'));
});

describe('a cluster worker', () => {
  const state = { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'bamboo' } as ClusterState;

  test('starts in the caller’s folder, where its ./bamboo.config.json is', () => {
    expect(workerLaunch(state, {}, '/home/u/app').cwd).toBe('/home/u/app');
    expect(workerLaunch(state).cwd).toBe(process.cwd());
    expect(workerLaunch(state, {}, '/home/u/app').env).toMatchObject({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_NAMESPACE: 'default', BAMBOO_TASK_QUEUE: 'bamboo' });
  });

  test('gets BAMBOO_CONFIG as an absolute path when it was relative', () => {
    expect(workerLaunch(state, { BAMBOO_CONFIG: 'conf/bamboo.json' }, '/home/u/app').env.BAMBOO_CONFIG).toBe('/home/u/app/conf/bamboo.json');
    expect(workerLaunch(state, { BAMBOO_CONFIG: '/etc/bamboo.json' }, '/home/u/app').env.BAMBOO_CONFIG).toBe('/etc/bamboo.json');
  });
});
