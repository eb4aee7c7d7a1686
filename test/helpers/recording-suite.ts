/**
 * A test file's real worker and recording parent: started before its tests, stopped after.
 * `completionsFor` waits until the parent has received at least `atLeast` completions of a
 * child, and returns all it received (duplicates included).
 */
import type { ChildCompletion } from '../../common';
import { sessionIdFromWorkflowId } from '../../common';
import { receivedCompletionsQuery } from '../workflows/recording-parent';
import { eventually } from './eventually';
import { startRecordingParent, startTestWorker, type RecordingParentHandle, type TestWorker } from './temporal';

export interface RecordingSuite {
  readonly tw: TestWorker;
  readonly parent: RecordingParentHandle;
  readonly parentSessionId: string;
  completionsFor(childSessionId: string, atLeast?: number): Promise<ChildCompletion[]>;
}

export function withRecordingParent(options: Parameters<typeof startTestWorker>[0] = {}): RecordingSuite {
  let tw: TestWorker | undefined;
  let parent: RecordingParentHandle | undefined;
  beforeAll(async () => {
    tw = await startTestWorker(options);
    parent = await startRecordingParent(tw.client, tw.taskQueue);
  });
  afterAll(async () => {
    await parent?.terminate().catch(() => undefined);
    await tw?.stop();
  });
  return {
    get tw() {
      return tw!;
    },
    get parent() {
      return parent!;
    },
    get parentSessionId() {
      return sessionIdFromWorkflowId(parent!.workflowId)!;
    },
    completionsFor(childSessionId, atLeast = 1) {
      return eventually(async () => {
        const got = (await parent!.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === childSessionId);
        return got.length >= atLeast ? got : undefined;
      }, { timeoutMs: 10_000, what: `${atLeast} completion(s) of ${childSessionId}` });
    },
  };
}
