/** Workflow entry points bundled by the worker. Only deterministic code is reachable from here. */
export { childSessionWorkflow } from './child-session';
export { sessionWorkflow } from './root-session';
