// @baton/engine/openai: the model adapter on the `openai` SDK, for the hosts (the relay, the
// browser's worker). Apart from the engine's front door, because it does I/O: the core stays free
// of it and never imports this.
export {
  createOpenAiModel,
  type FailureWording,
  type OpenAiEndpoint,
  type OpenAiModelOptions,
} from './openai-model.ts';
export { createRedactor, redactUrlCredentials, redacted } from './redact.ts';
