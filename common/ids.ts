/** Workflow ids and task queue: contract names (docs/architecture.md#temporal-mapping). */
export const WORKFLOW_ID_PREFIX = 'bamboo-session-';
export const DEFAULT_TASK_QUEUE = 'bamboo';

export function sessionWorkflowId(sessionId: string): string {
  return `${WORKFLOW_ID_PREFIX}${sessionId}`;
}

export function sessionIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(WORKFLOW_ID_PREFIX) ? workflowId.slice(WORKFLOW_ID_PREFIX.length) : undefined;
}
