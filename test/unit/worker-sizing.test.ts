/** The worker sizing variables: validated once, naming the variable; only those given reach the worker. */
import { readEnv, workerSizing } from '../../worker/config/env';

test('unset sizing variables leave the SDK defaults', () => {
  expect(workerSizing(readEnv({}))).toEqual({});
});

test('given sizing variables become worker options', () => {
  const env = readEnv({ BAMBOO_MAX_CACHED_WORKFLOWS: '500', BAMBOO_MAX_CONCURRENT_ACTIVITIES: '2000', BAMBOO_WORKFLOW_THREADS: '2' });
  expect(workerSizing(env)).toEqual({ maxCachedWorkflows: 500, maxConcurrentActivityTaskExecutions: 2000, workflowThreadPoolSize: 2 });
});

test('BAMBOO_HEARTBEAT_THROTTLE sets how often heartbeats reach the server, both bounds', () => {
  expect(workerSizing(readEnv({ BAMBOO_HEARTBEAT_THROTTLE: '2s' }))).toEqual({ maxHeartbeatThrottleInterval: '2s', defaultHeartbeatThrottleInterval: '2s' });
});

test.each([
  ['BAMBOO_HEARTBEAT_THROTTLE', 'often'],
  ['BAMBOO_HEARTBEAT_THROTTLE', '-2s'],
  ['BAMBOO_HEARTBEAT_THROTTLE', '0s'],
  ['BAMBOO_MAX_CACHED_WORKFLOWS', 'lots'],
  ['BAMBOO_MAX_CONCURRENT_ACTIVITIES', '0'],
  ['BAMBOO_WORKFLOW_THREADS', '2.5'],
])('%s=%s is refused, naming the variable', (name, value) => {
  expect(() => readEnv({ [name]: value })).toThrow(new RegExp(`^invalid environment: ${name}`));
});
