/**
 * Specs of the tools a parent session's workflow handles itself. Plain data, shared by the
 * workflow (which runs them) and the model activity (which offers them to the model), so the
 * workflow passes only their names through history.
 */
import type { ToolSpecInput } from './model-turn';

export const SPAWN_TOOL = 'spawn_session';
export const MANAGE_TOOL = 'manage_children';

export const WORKFLOW_TOOL_SPECS: ToolSpecInput[] = [
  {
    name: SPAWN_TOOL,
    description:
      'Start a child session (a sub-agent) that works in the background on one task. Returns at once with ' +
      'status "queued"; you are resumed with its result when it finishes.',
    parameters: {
      type: 'object',
      properties: {
        title: { type: 'string', description: 'Short title of the child session' },
        responsibility: { type: 'string', description: 'What the child is responsible for' },
        prompt: { type: 'string', description: 'The task brief' },
        subagent_type: { type: 'string', description: 'Kind of sub-agent, e.g. general, researcher, coder' },
        model: { type: 'string', description: 'Model override (default: the parent model)' },
        reasoning_effort: { type: 'string', enum: ['low', 'medium', 'high'] },
      },
      required: ['title', 'responsibility', 'prompt', 'subagent_type'],
      additionalProperties: false,
    },
  },
  {
    name: MANAGE_TOOL,
    description: 'Manage child sessions: list them, get one, send a message to one (queued if it is running), or cancel one.',
    parameters: {
      type: 'object',
      properties: {
        action: { type: 'string', enum: ['list', 'get', 'send_message', 'cancel'] },
        child_session_id: { type: 'string' },
        message: { type: 'string' },
      },
      required: ['action'],
      additionalProperties: false,
    },
  },
];
