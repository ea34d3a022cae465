/**
 * What the model's name decides for the Gemini wire: the path, how thinking is configured, and
 * whether a function call without its thought signature needs the documented stand-in.
 */
import type { JsonObject } from "../../../protocol/responses.ts";

/** `models/gemini-2.5-pro` and `gemini-2.5-pro` name the same model; the path adds `models/` itself. */
export const bareModel = (model: string): string => model.startsWith("models/") ? model.slice("models/".length) : model;

/** `/models/{model}:streamGenerateContent?alt=sse` or `/models/{model}:generateContent`, the name one path segment. */
export const modelPath = (model: string, stream: boolean): string =>
  `/models/${encodeURIComponent(bareModel(model))}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`;

interface Generation {
  readonly major: number;
  readonly minor: number;
  /** Flash and Flash-Lite may turn thinking off and have the `minimal`/`medium` levels; Pro may not. */
  readonly flash: boolean;
}

/** `gemini-3-pro-preview` → 3.0, `gemini-2.5-flash-lite` → 2.5 flash; other names (gemma, aliases) → undefined. */
const generation = (model: string): Generation | undefined => {
  const match = /^gemini-(\d+)(?:\.(\d+))?(?:-|$)/.exec(bareModel(model));
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2] ?? 0), flash: /flash/.test(model) };
};

/**
 * Whether the model rejects a replayed `functionCall` without its `thoughtSignature` (400 `Function call is
 * missing a thought_signature`): Gemini 3 and later (providers.md §2.5, ai.google.dev/gemini-api/docs/thought-signatures).
 * The same models return an `id` on every `functionCall` and want it back on calls and results (request.ts).
 */
export const requiresSignatures = (model: string): boolean => (generation(model)?.major ?? 0) >= 3;

/**
 * What Google documents for a call whose signature is lost (history from another model, or a client that dropped
 * it): either `"context_engineering_is_the_way_to_go"` or `"skip_thought_signature_validator"` passes the check
 * (providers.md §2.5 [GM-sig]); the latter is what vercel/ai#15550 sends.
 */
export const DUMMY_SIGNATURE = "skip_thought_signature_validator";

/**
 * `reasoning.effort` as Gemini 3 `thinkingLevel` (providers.md §2.4, ai.google.dev/gemini-api/docs/thinking and
 * …/gemini-3): Flash takes minimal/low/medium/high, Pro only low/high (no way to turn thinking off), so for Pro
 * `minimal`/`none` round up to `low` and `medium` rounds up to `high` (never less thinking than asked for).
 */
const LEVELS_FLASH: ReadonlyMap<string, string> = new Map([
  ["none", "minimal"],
  ["minimal", "minimal"],
  ["low", "low"],
  ["medium", "medium"],
  ["high", "high"],
  ["xhigh", "high"],
]);
const LEVELS_PRO: ReadonlyMap<string, string> = new Map([
  ["none", "low"],
  ["minimal", "low"],
  ["low", "low"],
  ["medium", "high"],
  ["high", "high"],
  ["xhigh", "high"],
]);

/**
 * `reasoning.effort` as Gemini 2.5 `thinkingBudget` (providers.md §2.4, ai.google.dev/gemini-api/docs/thinking):
 * Pro thinks 128–32,768 tokens and cannot turn thinking off, Flash 0–24,576, Flash-Lite 0 or 512–24,576. `none`
 * and `minimal` turn thinking off where the model allows it (0) and ask for Pro's minimum (128) otherwise.
 */
const BUDGETS_FLASH: ReadonlyMap<string, number> = new Map([
  ["none", 0],
  ["minimal", 0],
  ["low", 1024],
  ["medium", 8192],
  ["high", 24576],
  ["xhigh", 24576],
]);
const BUDGETS_PRO: ReadonlyMap<string, number> = new Map([
  ["none", 128],
  ["minimal", 128],
  ["low", 1024],
  ["medium", 8192],
  ["high", 24576],
  ["xhigh", 32768],
]);

/**
 * `generationConfig.thinkingConfig` for the canonical `reasoning`, or undefined to leave the model's default.
 *
 * `includeThoughts` (thought summaries as `thought: true` parts) is asked exactly when the client asked for a
 * reasoning summary (`reasoning.summary`), as OpenAI shows summaries only then; never with a budget of 0, where
 * there is nothing to show. Models that do not think (Gemini 2.0, 1.5, Gemma) and aliases whose generation the
 * name does not tell (`gemini-flash-latest`) get no `thinkingConfig`: a thinking field there is a 400.
 */
export const thinkingConfig = (model: string, reasoning: unknown): JsonObject | undefined => {
  if (reasoning === null || typeof reasoning !== "object") return undefined;
  const { effort, summary } = reasoning as { effort?: unknown; summary?: unknown };
  const gen = generation(model);
  if (gen === undefined || (gen.major < 3 && !(gen.major === 2 && gen.minor === 5))) return undefined;
  const wantsThoughts = typeof summary === "string" && summary !== "none";
  const config: JsonObject = {};
  if (gen.major >= 3) {
    const level = typeof effort === "string" ? (gen.flash ? LEVELS_FLASH : LEVELS_PRO).get(effort) : undefined;
    if (level !== undefined) config.thinkingLevel = level;
    if (wantsThoughts) config.includeThoughts = true;
  } else {
    const budget = typeof effort === "string" ? (gen.flash ? BUDGETS_FLASH : BUDGETS_PRO).get(effort) : undefined;
    if (budget !== undefined) config.thinkingBudget = budget;
    if (wantsThoughts && budget !== 0) config.includeThoughts = true;
  }
  return Object.keys(config).length > 0 ? config : undefined;
};
