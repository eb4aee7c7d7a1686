/** `bamboo-engine/worker`: the plugin for your worker, tools and providers in code (docs/library.md). */
export { BambooPlugin, bambooPlugin, BAMBOO_WORKFLOW_TYPES, WORKFLOWS_PATH, type BambooPluginOptions } from './plugin';
export { defineTool, fromAiSdkTool, type AiSdkToolOptions, type DefineToolOptions, type ToolsInput } from './tools/define-tool';
export type { ToolContext, ToolDefinition } from './tools/types';
export { languageModelProvider, type LanguageModelFactory, type LanguageModelProviderOptions, type ProviderInput } from './providers/in-code';
export { ProviderError, type ModelProvider, type ModelRequest, type ModelStreamPart } from './providers/types';
export { createEncryptionCodec, type EncryptionKeyOptions } from './codec/aes-gcm';
export type { ExternalRunner } from './runners/types';
export type { ToolPolicy } from './tools/policy';
export type { McpServerConfig } from './tools/mcp';
