/**
 * Payload encryption on a real dev server: a worker and client with the AES-256-GCM codec run
 * a child to completion; the codec-aware client reads the plain result while the raw history
 * (fetched without the codec) holds no plaintext anywhere, unlike an unencrypted control run
 * whose history shows its marker; the codec server decrypts a raw payload from that history
 * for the Web UI; a wrong key fails with a clear error; a signal encrypted with another key is
 * ignored by the session, which goes on; a run whose input is encrypted with another key is not
 * failed by a worker without that key but left (its workflow task failing and retrying) for a
 * worker that has it; failure messages are sealed too.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type DataConverter, type Payload } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncryptionCodec, ENCRYPTED_ENCODING, type EncryptionCodec } from '../../worker/codec/aes-gcm';
import { startCodecServer, type CodecServer } from '../../cli/codec-server';
import { startChildRun } from '../../client/child-runs';
import { sendUserMessage, sessionState, sessionTranscript, startSession } from '../../client/root-sessions';
import { sessionIdFromWorkflowId } from '../../common';
import { buildWorkflowBundle } from '../../worker/bundle';
import { createBambooWorker } from '../../worker/create-worker';
import { receivedCompletionsQuery, stopRecordingSignal } from '../workflows/recording-parent';
import { historyText } from '../helpers/history-text';
import { startWorkerProcess } from '../helpers/worker-process';
import { childSession, rootSession, spawnJobFor } from '../helpers/session-fixtures';
import { eventually } from '../helpers/eventually';
import { startRecordingParent, startTestWorker, testServer, type RecordingParentHandle, type TestWorker } from '../helpers/temporal';

jest.setTimeout(240_000);

const key = randomBytes(32);
const codec: EncryptionCodec = createEncryptionCodec({ key });
const dataConverter: DataConverter = { payloadCodecs: [codec] };

let plain: TestWorker; // unencrypted worker + client (also installs the test Runtime)
let encryptedClient: Client;
let rawClient: Client; // no codec: sees what the server stores
let workerConnection: NativeConnection;
let encryptedWorker: Worker;
let encryptedWorkerRunning: Promise<void>;
let encryptedTaskQueue: string;
let codecServer: CodecServer;

beforeAll(async () => {
  plain = await startTestWorker();
  const { address, namespace } = testServer();
  encryptedClient = new Client({ connection: await Connection.connect({ address }), namespace, dataConverter });
  rawClient = new Client({ connection: await Connection.connect({ address }), namespace });
  workerConnection = await NativeConnection.connect({ address });
  encryptedTaskQueue = `test-encrypted-${randomUUID()}`;
  // The activities' own client (transcript query, snapshot loading) must share the codec.
  // Bundled here, not the suite's prebuilt bundle: an encrypting worker's bundle also encodes failures.
  encryptedWorker = await createBambooWorker({
    connection: workerConnection,
    client: encryptedClient,
    namespace,
    taskQueue: encryptedTaskQueue,
    workflowsPath: require.resolve('../workflows'),
    dataConverter,
  });
  encryptedWorkerRunning = encryptedWorker.run();
  codecServer = await startCodecServer({ port: 0, codec });
});

afterAll(async () => {
  await codecServer?.stop();
  if (encryptedWorker?.getState() === 'RUNNING') encryptedWorker.shutdown();
  await encryptedWorkerRunning;
  await workerConnection?.close();
  await encryptedClient?.connection.close();
  await rawClient?.connection.close();
  await plain?.stop();
});

/** Runs one child to completion on the given worker; the recording parent lives on the same queue. */
async function runChild(client: Client, taskQueue: string, marker: string) {
  const parent: RecordingParentHandle = await startRecordingParent(client, taskQueue);
  const parentSessionId = sessionIdFromWorkflowId(parent.workflowId)!;
  const session = childSession(`please remember ${marker}`, { parentSessionId, title: `child ${marker}` });
  const handle = await startChildRun(client, spawnJobFor(session), { taskQueue });
  const result = await handle.result();
  const completions = await eventually(async () => {
    const got = (await parent.query(receivedCompletionsQuery)).filter((c) => c.childSessionId === session.id);
    return got.length > 0 ? got : undefined;
  }, { timeoutMs: 30_000, what: 'the parent to receive the completion' });
  await parent.signal(stopRecordingSignal);
  await parent.result();
  return { parent, handle, result, completions };
}

/** Every Payload-shaped object in a raw history, outside search attributes (never encoded by codecs). */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (Array.isArray(value)) value.forEach((v) => payloadsIn(v, found));
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record.metadata && typeof record.metadata === 'object' && 'data' in record) found.push(record as Payload);
    // Search attributes are indexed by the server, and patch markers (written by the SDK core,
    // not through the codec) hold only a patch id: both are checked apart, below.
    for (const [k, inner] of Object.entries(record)) if (k !== 'searchAttributes' && k !== 'metadata' && k !== 'markerRecordedEventAttributes') payloadsIn(inner, found);
  }
  return found;
}
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('payload encryption', () => {
  const marker = `encrypted-marker-${randomUUID()}`;
  const controlMarker = `plain-marker-${randomUUID()}`;
  let encrypted: Awaited<ReturnType<typeof runChild>>;
  let control: Awaited<ReturnType<typeof runChild>>;

  beforeAll(async () => {
    [encrypted, control] = await Promise.all([
      runChild(encryptedClient, encryptedTaskQueue, marker),
      runChild(plain.client, plain.taskQueue, controlMarker),
    ]);
  });

  test('an encrypted child run completes and the codec-aware client reads the plain result', async () => {
    expect(encrypted.result.status).toBe('completed');
    expect(encrypted.result.session?.messages.at(-1)).toMatchObject({ role: 'assistant', content: `echo: please remember ${marker}` });
    expect(encrypted.completions).toEqual([expect.objectContaining({ status: 'completed', finalResponse: `echo: please remember ${marker}` })]);
    // The codec leaves unencrypted payloads alone: the same client reads the control run too.
    const controlResult = await encryptedClient.workflow.getHandle(control.handle.workflowId, control.handle.firstExecutionRunId).result();
    expect(controlResult.session?.messages.at(-1)?.content).toBe(`echo: please remember ${controlMarker}`);
  });

  test('the raw encrypted history holds no plaintext; the unencrypted control history does', async () => {
    const childHistory = await rawClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).fetchHistory();
    const parentHistory = await rawClient.workflow.getHandle(encrypted.parent.workflowId).fetchHistory();
    const controlHistory = await rawClient.workflow.getHandle(control.handle.workflowId, control.handle.firstExecutionRunId).fetchHistory();

    // The check can see plaintext: the control run's marker is in its history (input, result, summaries).
    expect(historyText(controlHistory)).toContain(controlMarker);
    // Nothing of the encrypted run's marker, in the child or in the parent that got its completion.
    expect(historyText(childHistory)).not.toContain(marker);
    expect(historyText(parentHistory)).not.toContain(marker);
    // Not in base64 either (the marker at any of the three base64 alignments).
    const raw = JSON.stringify(childHistory, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
    for (const shift of ['', 'x', 'xx']) expect(raw).not.toContain(Buffer.from(shift + marker).toString('base64').slice(4, 24));

    // Every payload in the child's history (inputs, results, activity I/O, summaries) is encrypted under our key id.
    const payloads = payloadsIn(childHistory.events);
    expect(payloads.length).toBeGreaterThan(5);
    for (const p of payloads) {
      expect(text(p.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata?.['encryption-key-id'])).toBe(codec.keyId);
    }
    // Patch markers are written by the SDK outside the codec: a child run of history shape 2
    // writes none, and any marker carries the patch id and nothing of the session.
    const markersOf = (history: typeof childHistory) => (history.events ?? []).flatMap((e) => payloadsIn(Object.values(e.markerRecordedEventAttributes?.details ?? {})));
    expect(markersOf(childHistory)).toEqual([]);
    const markers = [...markersOf(parentHistory), ...markersOf(controlHistory)];
    for (const p of markers) expect(text(p.data)).toMatch(/^[{"\w\s:,-]*bamboo-[a-z-]+[\w\s":,}-]*$/);
    expect(text(Buffer.concat(markers.map((p) => Buffer.from(p.data ?? []))))).not.toContain(marker);
    // And the control run's payloads are plain JSON.
    expect(payloadsIn(controlHistory.events).some((p) => text(p.metadata?.encoding) === 'json/plain')).toBe(true);
  });

  test('the codec server decodes a raw payload from the history into the plaintext JSON', async () => {
    const history = await rawClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).fetchHistory();
    const completedEvent = history.events?.find((e) => e.workflowExecutionCompletedEventAttributes);
    const rawResult = completedEvent?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    expect(rawResult).toBeDefined();
    expect(text(rawResult!.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);

    // As the Web UI calls it: preflight, then POST /decode with the UI's headers.
    const preflight = await fetch(`${codecServer.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': testServer().namespace, origin: 'http://localhost:8233' },
      body: JSON.stringify({ payloads: [payloadToJSON(rawResult!)] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    const json = JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString('utf8')) as { status: string; session: { messages: Array<{ content: string }> } };
    expect(json.status).toBe('completed');
    expect(json.session.messages.at(-1)?.content).toBe(`echo: please remember ${marker}`);
  });

  test('a wrong key fails decoding with a clear error', async () => {
    const history = await rawClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).fetchHistory();
    const rawInput = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(rawInput).toBeDefined();
    // Our codec reads it back into the SpawnJob that started the run.
    const [decodedInput] = await codec.decode([rawInput!]);
    expect(defaultPayloadConverter.fromPayload<{ session: { id: string } }>(decodedInput!).session.id).toBe(sessionIdFromWorkflowId(encrypted.handle.workflowId));

    // Another key (derived id differs): unknown key id.
    const otherKey = createEncryptionCodec({ key: randomBytes(32) });
    await expect(otherKey.decode([rawInput!])).rejects.toThrow(`unknown encryption key id "${codec.keyId}"`);
    // Another key under the same id: authentication fails.
    const sameIdWrongKey = createEncryptionCodec({ key: randomBytes(32), keyId: codec.keyId });
    await expect(sameIdWrongKey.decode([rawInput!])).rejects.toThrow(`cannot decrypt payload with key id "${codec.keyId}": authentication failed`);

    // End to end: a client with the wrong key cannot read the result, and says why.
    const { address, namespace } = testServer();
    const wrongClient = new Client({ connection: await Connection.connect({ address }), namespace, dataConverter: { payloadCodecs: [otherKey] } });
    try {
      await expect(wrongClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).result()).rejects.toThrow(
        /unknown encryption key id/,
      );
    } finally {
      await wrongClient.connection.close();
    }
    // And a client without any codec cannot read it either (it is not JSON to it).
    await expect(rawClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).result()).rejects.toThrow(/binary\/encrypted/);
  });

  test('encrypted histories replay against the workflow code with the codec (what `bamboo replay` needs)', async () => {
    const { bundlePath } = testServer();
    const history = await rawClient.workflow.getHandle(encrypted.handle.workflowId, encrypted.handle.firstExecutionRunId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath }, dataConverter }, history, encrypted.handle.workflowId);
  });
});

test('a message encrypted with another key is ignored: no workflow task fails and the session answers the next one', async () => {
  const { address, namespace } = testServer();
  const session = rootSession('first question');
  const handle = await startSession(encryptedClient, { session }, { taskQueue: encryptedTaskQueue });
  const strangerClient = new Client({
    connection: await Connection.connect({ address }),
    namespace,
    dataConverter: { payloadCodecs: [createEncryptionCodec({ key: randomBytes(32), keyId: 'stranger' })] },
  });
  try {
    await eventually(async () => (await sessionState(encryptedClient, session.id)).lastRunStatus === 'completed', { timeoutMs: 60_000, what: 'the first turn' });
    await sendUserMessage(strangerClient, session.id, 'from a client with the wrong key');
    await sendUserMessage(encryptedClient, session.id, 'second question');
    const transcript = await eventually(async () => {
      const messages = await sessionTranscript(encryptedClient, session.id);
      return messages.some((m) => m.role === 'assistant' && m.content.includes('second question')) ? messages : undefined;
    }, { timeoutMs: 60_000, what: 'the answer to the second question' });
    expect(transcript.map((m) => m.content).join('\n')).not.toContain('wrong key');
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(0);
    expect(history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(2);
  } finally {
    await handle.terminate().catch(() => undefined);
    await strangerClient.connection.close();
  }
});

test('a run encrypted with a key this worker lacks is left for a worker that has it: its workflow task fails and retries, then that worker completes it', async () => {
  const { address, namespace } = testServer();
  const taskQueue = `test-other-key-${randomUUID()}`;
  // A prebuilt bundle for encrypting workers, as `npm run bundle-workflows -- --encode-failures` writes it.
  const bundlePath = join(mkdtempSync(join(tmpdir(), 'bamboo-bundle-')), 'workflow-bundle.js');
  writeFileSync(bundlePath, await buildWorkflowBundle({ workflowsPath: require.resolve('../workflows'), encodeFailures: true }));
  const codecB = createEncryptionCodec({ key: randomBytes(32), keyId: 'key-b' });
  const clientB = new Client({ connection: await Connection.connect({ address }), namespace, dataConverter: { payloadCodecs: [codecB] } });
  const startWorker = async (client: Client, converter: DataConverter) => {
    const worker = await createBambooWorker({ connection: workerConnection, client, namespace, taskQueue, workflowBundlePath: bundlePath, dataConverter: converter });
    const running = worker.run();
    return { stop: async () => (worker.getState() === 'RUNNING' && worker.shutdown(), await running) };
  };
  // Only a worker with key A serves the queue.
  const workerA = await startWorker(encryptedClient, dataConverter);
  let workerB: Awaited<ReturnType<typeof startWorker>> | undefined;
  const session = childSession('encrypted for key B', { parentSessionId: `absent-${randomUUID()}` });
  const handle = await startChildRun(clientB, spawnJobFor(session), { taskQueue });
  try {
    // Worker A cannot decrypt the SpawnJob: the workflow task fails (recorded once) and is retried…
    const failure = await eventually(async () => {
      const history = await rawClient.workflow.getHandle(handle.workflowId).fetchHistory();
      return history.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure ?? undefined;
    }, { timeoutMs: 30_000, what: 'a failed workflow task' });
    // (worker A seals failure messages: its codec reads the reason)
    const [reason] = failure.encodedAttributes ? await codec.decode([failure.encodedAttributes]) : [undefined];
    const message = reason ? defaultPayloadConverter.fromPayload<{ message: string }>(reason).message : failure.message;
    expect(message).toBe(
      `payload could not be decoded: cannot decrypt payload: unknown encryption key id "key-b" (this codec has key id "${codec.keyId}"; set BAMBOO_ENCRYPTION_KEY to the key the payload was written with)`,
    );
    await eventually(async () => ((await handle.describe()).raw.pendingWorkflowTask?.attempt ?? 0) >= 2, { timeoutMs: 60_000, what: 'a retried workflow task' });
    // …and the run is not failed: no `invalid SpawnJob`, nothing closed.
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    const history = await rawClient.workflow.getHandle(handle.workflowId).fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionFailedEventAttributes || e.workflowExecutionCompletedEventAttributes)).toBe(false);

    // A worker with key B picks it up and the run completes.
    await workerA.stop();
    workerB = await startWorker(clientB, { payloadCodecs: [codecB] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', session: { messages: expect.arrayContaining([expect.objectContaining({ content: 'echo: encrypted for key B' })]) } });
  } finally {
    await handle.terminate().catch(() => undefined);
    await workerA.stop();
    await workerB?.stop();
    await clientB.connection.close();
  }
});

test('failure messages are sealed too: the raw history says "Encoded failure", the codec-aware client reads the cause', async () => {
  const marker = `failure-marker-${randomUUID()}`;
  const parent = await startRecordingParent(encryptedClient, encryptedTaskQueue);
  const session = childSession(`[[fail:upstream said ${marker}]]`, { parentSessionId: sessionIdFromWorkflowId(parent.workflowId)! });
  const handle = await startChildRun(encryptedClient, spawnJobFor(session), { taskQueue: encryptedTaskQueue });
  try {
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'error', error: `upstream said ${marker}` });
    const raw = await rawClient.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    const failures = raw.events?.flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : [])) ?? [];
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.message).toBe('Encoded failure');
      expect(text(failure.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    }
    expect(historyText(raw)).not.toContain(marker);
  } finally {
    await parent.signal(stopRecordingSignal);
    await parent.result();
  }
});

test('a workflow\'s own failure is sealed in history and decoded by the codec-aware client', async () => {
  const workflowId = `bamboo-session-encrypted-invalid-${randomUUID()}`;
  const handle = await encryptedClient.workflow.start('childSessionWorkflow', {
    taskQueue: encryptedTaskQueue,
    workflowId,
    args: [{ parentSessionId: 'p', childSessionId: 'c', model: '   ' }],
  });
  const error = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause?.message).toMatch(/^invalid SpawnJob: model: /);
  const raw = await rawClient.workflow.getHandle(workflowId).fetchHistory();
  const failure = raw.events?.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
  expect(failure?.message).toBe('Encoded failure');
  expect(historyText(raw)).not.toContain('invalid SpawnJob');
});

test('an encrypting worker refuses a prebuilt bundle built without failure encoding, and says how to build one', async () => {
  const { namespace, bundlePath } = testServer();
  await expect(
    createBambooWorker({ connection: workerConnection, client: encryptedClient, namespace, taskQueue: `unused-${randomUUID()}`, workflowBundlePath: bundlePath, dataConverter }),
  ).rejects.toThrow(/was built without failure encoding, but this worker encrypts payloads: build it with `npm run bundle-workflows -- --encode-failures <out\.js>`/);
});

test('`bamboo worker` with a key and a bundle built without failure encoding bundles at start instead, and serves encrypted runs', async () => {
  const taskQueue = `test-encrypted-cli-${randomUUID()}`;
  const worker = await startWorkerProcess({ taskQueue, env: { BAMBOO_ENCRYPTION_KEY: key.toString('base64') } });
  try {
    expect(worker.output()).toContain('was built for workers that do not encrypt payloads; bundling at start instead');
    await eventually(async () => worker.output().includes(`payload encryption: on (AES-256-GCM, key id ${codec.keyId})`), { timeoutMs: 10_000, what: 'the encryption line' });
    const session = childSession('through the CLI worker', { parentSessionId: `absent-${randomUUID()}` });
    const result = await (await startChildRun(encryptedClient, spawnJobFor(session), { taskQueue })).result();
    expect(result).toMatchObject({ status: 'completed', session: { messages: expect.arrayContaining([expect.objectContaining({ content: 'echo: through the CLI worker' })]) } });
  } finally {
    await worker.kill('SIGTERM');
  }
});

