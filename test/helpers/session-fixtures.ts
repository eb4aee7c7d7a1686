/** Building child session snapshots and spawn jobs for tests. */
import { randomUUID } from 'node:crypto';
import type { Session, SpawnJob } from '../../common';
import { uniqueId } from './temporal';

export function childSession(prompt: string, overrides: Partial<Session> & { parentSessionId: string }): Session {
  return {
    id: uniqueId('child'),
    kind: 'child',
    rootSessionId: overrides.parentSessionId,
    spawnDepth: 1,
    title: 'test child',
    model: 'scripted-model',
    metadata: {},
    messages: [
      { id: randomUUID(), role: 'system', content: 'You are a child session.', createdAt: new Date().toISOString() },
      { id: randomUUID(), role: 'user', content: prompt, createdAt: new Date().toISOString() },
    ],
    ...overrides,
  };
}

export function spawnJobFor(session: Session, overrides: Partial<SpawnJob> = {}): SpawnJob {
  return {
    parentSessionId: session.parentSessionId!,
    childSessionId: session.id,
    model: session.model,
    session,
    ...overrides,
  };
}

export function rootSession(prompt: string, metadata: Record<string, string> = {}): Session {
  const id = uniqueId('root');
  return {
    id,
    kind: 'root',
    rootSessionId: id,
    spawnDepth: 0,
    title: 'test root',
    model: 'scripted-model',
    metadata,
    messages: [{ id: randomUUID(), role: 'user', content: prompt, createdAt: new Date().toISOString() }],
  };
}
