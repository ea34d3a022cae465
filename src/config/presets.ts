/**
 * Known providers: a provider named like one (or with `preset` set to one)
 * gets its API, base URL and auth style filled in; any field the config gives
 * wins. The embedded default (no config) serves every preset whose API is
 * implemented and whose usual key variable is set.
 *
 * Base URLs are the vendors' documented OpenAI-compatible roots (their API
 * references, November 2026); local servers default to their own ports.
 */
import type { Api, WireOptions } from "./provider_api.ts";

/** How the key goes upstream. */
export type AuthStyle = "bearer" | "api-key" | "x-api-key" | "x-goog-api-key" | "none";

export interface Preset {
  readonly api: Api;
  /** Absent when every deployment has its own (Azure): the config must give it. */
  readonly baseUrl?: string;
  readonly auth: AuthStyle;
  /** The environment variable the vendor's own SDKs read the key from. */
  readonly keyEnv?: string;
  readonly wire?: WireOptions;
}

/** The auth style an API uses when neither the preset nor the config names one. */
export const defaultAuth = (api: Api): AuthStyle =>
  api === "anthropic" ? "x-api-key" : api === "gemini" ? "x-goog-api-key" : "bearer";

export const presets: ReadonlyMap<string, Preset> = new Map<string, Preset>([
  ["openai", { api: "responses", baseUrl: "https://api.openai.com/v1", auth: "bearer", keyEnv: "OPENAI_API_KEY" }],
  ["azure", { api: "responses", auth: "api-key", keyEnv: "AZURE_OPENAI_API_KEY" }],
  [
    "anthropic",
    { api: "anthropic", baseUrl: "https://api.anthropic.com/v1", auth: "x-api-key", keyEnv: "ANTHROPIC_API_KEY" },
  ],
  [
    "gemini",
    {
      api: "gemini",
      baseUrl: "https://generativelanguage.googleapis.com/v1beta",
      auth: "x-goog-api-key",
      keyEnv: "GEMINI_API_KEY",
    },
  ],
  [
    "deepseek",
    {
      api: "chat",
      baseUrl: "https://api.deepseek.com/v1",
      auth: "bearer",
      keyEnv: "DEEPSEEK_API_KEY",
      // V3.2+ in thinking mode with tools answers 400 unless `reasoning_content` comes back.
      wire: { replayReasoningContent: true },
    },
  ],
  [
    "groq",
    {
      api: "chat",
      baseUrl: "https://api.groq.com/openai/v1",
      auth: "bearer",
      keyEnv: "GROQ_API_KEY",
      // Only gpt-oss takes an effort on Groq: llama answers 400, qwen3 takes only none/default.
      wire: { reasoningEffort: ["gpt-oss"] },
    },
  ],
  [
    "mistral",
    {
      api: "chat",
      baseUrl: "https://api.mistral.ai/v1",
      auth: "bearer",
      keyEnv: "MISTRAL_API_KEY",
      // Mistral answers 422 `extra_forbidden` for both (mistralai/platform-docs-public#7).
      wire: { omitFields: ["user", "stream_options"] },
    },
  ],
  [
    "openrouter",
    { api: "chat", baseUrl: "https://openrouter.ai/api/v1", auth: "bearer", keyEnv: "OPENROUTER_API_KEY" },
  ],
  ["together", { api: "chat", baseUrl: "https://api.together.xyz/v1", auth: "bearer", keyEnv: "TOGETHER_API_KEY" }],
  [
    "fireworks",
    {
      api: "chat",
      baseUrl: "https://api.fireworks.ai/inference/v1",
      auth: "bearer",
      keyEnv: "FIREWORKS_API_KEY",
      wire: { reasoningEffort: ["gpt-oss", "qwen3", "deepseek-r1"] },
    },
  ],
  [
    "xai",
    {
      api: "chat",
      baseUrl: "https://api.x.ai/v1",
      auth: "bearer",
      keyEnv: "XAI_API_KEY",
      // Only these take `reasoning_effort`; grok-4, grok-code-fast-1 and the rest answer 400.
      wire: { reasoningEffort: ["grok-3-mini", "grok-4.3", "grok-4.20-multi-agent"] },
    },
  ],
  [
    "cerebras",
    {
      api: "chat",
      baseUrl: "https://api.cerebras.ai/v1",
      auth: "bearer",
      keyEnv: "CEREBRAS_API_KEY",
      wire: { reasoningEffort: ["gpt-oss"] },
    },
  ],
  ["ollama", { api: "chat", baseUrl: "http://127.0.0.1:11434/v1", auth: "none" }],
  ["vllm", { api: "chat", baseUrl: "http://127.0.0.1:8000/v1", auth: "none" }],
  ["lmstudio", { api: "chat", baseUrl: "http://127.0.0.1:1234/v1", auth: "none" }],
]);

/** The APIs this build speaks. */
export const implementedApis: ReadonlySet<Api> = new Set<Api>(["responses", "chat", "anthropic", "gemini"]);
