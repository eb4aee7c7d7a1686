/**
 * A minimal parent for tests: it records every `subSessionCompleted` signal it receives
 * (duplicates included, so tests can prove "exactly one") and stays open until told to stop.
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import type { ChildCompletion } from '../../common';
import { subSessionCompletedSignal } from '../../common';

export const receivedCompletionsQuery = defineQuery<ChildCompletion[]>('receivedCompletions');
export const stopRecordingSignal = defineSignal('stopRecording');

export async function recordingParentWorkflow(): Promise<ChildCompletion[]> {
  const received: ChildCompletion[] = [];
  let stopped = false;
  setHandler(subSessionCompletedSignal, (completion) => void received.push(completion));
  setHandler(receivedCompletionsQuery, () => received);
  setHandler(stopRecordingSignal, () => void (stopped = true));
  await condition(() => stopped);
  return received;
}
