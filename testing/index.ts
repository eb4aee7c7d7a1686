/**
 * `bamboo-engine/testing`: what your tests need and production does not. The scripted provider
 * plays a model from directives in the prompt (docs/configuration.md#the-scripted-provider): it is
 * for demos and tests, and says so; `startDevServer` runs the Temporal CLI's dev server with
 * Bamboo's search attributes (the CLI is fetched once into the package's .cache/).
 * `replayCassette` runs a recorded tree again from its cassette, and `replayFindings` checks
 * the replay the way an eval does (same tool calls, same spawns, the final answer).
 */
export { createScriptedProvider, SCRIPTED_PROVIDER_NAME } from '../worker/providers/scripted';
export { startDevServer, type DevServer, type DevServerOptions } from '../cli/temporal/dev-server';
// Agent-level replay: a recorded tree run again with its cassette answering (docs/replay.md), and checks for evals.
export { replayCassette, describeDivergence, type Divergence, type OnDivergence, type ReplayCassetteOptions, type ReplayReport } from '../cli/replay-agent';
export { replayFindings, type ReplayExpectations } from './replay-evals';
// Temporal Cloud's billable actions, from the server's `action` metric or from histories (docs/benchmarks.md).
export { scrapeActions, actionsBetween, totalActions, historyActions, type ActionCounts } from './billable-actions';
