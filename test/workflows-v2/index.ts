/**
 * "Build 2" for the deploy test (test/integration/deploy.test.ts): the test bundle with an
 * incompatible change to the child workflow and no patched() — a timer before anything else —
 * so a child history recorded by build 1 cannot replay on it.
 */
import { sleep } from '@temporalio/workflow';
import type { SpawnJob } from '../../common';
import { childSessionWorkflow as build1Child } from '../../workflows';

export * from '../workflows';

export async function childSessionWorkflow(input: SpawnJob): ReturnType<typeof build1Child> {
  await sleep(1);
  return build1Child(input);
}
