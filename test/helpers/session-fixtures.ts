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

/** A root on `model` whose transcript already holds `texts`, alternating user, assistant, user, … */
export function withEarlierTurns(texts: string[], model: string, extra: Partial<Session> = {}, metadata: Record<string, string> = {}): Session {
  const session = { ...rootSession(texts[0], metadata), model, ...extra };
  texts.slice(1).forEach((content, i) => session.messages.push({ id: `m${i}`, role: i % 2 === 0 ? 'assistant' : 'user', content, createdAt: new Date().toISOString() }));
  return session;
}
