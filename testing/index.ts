/**
 * `bamboo-engine/testing`: what your tests need and production does not. The scripted provider
 * plays a model from directives in the prompt (docs/configuration.md#the-scripted-provider): it is
 * for demos and tests, and says so; `startDevServer` runs the Temporal CLI's dev server with
 * Bamboo's search attributes (the CLI is fetched once into the package's .cache/).
 */
export { createScriptedProvider, SCRIPTED_PROVIDER_NAME } from '../worker/providers/scripted';
export { startDevServer, type DevServer, type DevServerOptions } from '../cli/temporal/dev-server';
