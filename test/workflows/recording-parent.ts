/**
 * A minimal parent for tests: it records every `subSessionCompleted` signal it receives
 * (duplicates included, so tests can prove "exactly one") and stays open until told to stop.
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import type { ChildCompletion } from '../../common';
import { subSessionCompleted } from '../../common/workflow-interface';

export const receivedCompletions = defineQuery<ChildCompletion[]>('receivedCompletions');
export const stopRecording = defineSignal('stopRecording');

export async function recordingParentWorkflow(): Promise<ChildCompletion[]> {
  const received: ChildCompletion[] = [];
  let stopped = false;
  setHandler(subSessionCompleted, (completion) => void received.push(completion));
  setHandler(receivedCompletions, () => received);
  setHandler(stopRecording, () => void (stopped = true));
  await condition(() => stopped);
  return received;
}
