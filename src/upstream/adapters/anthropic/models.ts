/**
 * What the Messages API needs to know of a Claude model that the request does not say:
 * its `max_tokens` when the client sent none (the field is required, providers.md §1.2),
 * which thinking mode it takes (providers.md §1.4), and the thinking budget of an effort.
 *
 * Model names are matched anywhere in the string, so the same table serves the first-party
 * names (`claude-sonnet-4-5-20250929`), aliases (`claude-sonnet-4-5`), Cursor's dotted spelling
 * (`claude-sonnet-4.5`), Bedrock ids (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) and
 * Vertex ids (`claude-sonnet-4-5@20250929`).
 */

/** `max_tokens` when neither the client nor `target.options.defaultMaxTokens` gives one. */
export const FALLBACK_MAX_TOKENS = 8192;

/**
 * `max_tokens` by model family, first match wins. Each value is at most the family's
 * output limit (Anthropic's models overview), so an answer is never cut by the gateway's
 * default sooner than by the model: Opus 4 / 4.1 stop at 32,000; Sonnet 4.x, Haiku 4.5 and
 * Sonnet 3.7 at 64,000; the adaptive-only families (Opus 4.7+, Sonnet 5, Fable, Mythos 5) allow
 * at least 64,000; Claude 3.5 at 8,192; Claude 3 at 4,096.
 */
const MAX_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/opus-4[-.][7-9]|(?:opus|sonnet|haiku)-[5-9]|fable|mythos/, 64000],
  [/opus-4/, 32000],
  [/sonnet-4|haiku-4|3[-.]7-sonnet/, 64000],
  [/3[-.]5-(?:sonnet|haiku)/, 8192],
  [/claude-3-(?:opus|sonnet|haiku)/, 4096],
];

/** The model's `max_tokens` default: the configured one, else the family table, else 8,192. */
export const defaultMaxTokens = (model: string, configured: number | undefined): number => {
  if (configured !== undefined && Number.isInteger(configured) && configured > 0) return configured;
  const name = model.toLowerCase();
  for (const [pattern, tokens] of MAX_TOKENS) if (pattern.test(name)) return tokens;
  return FALLBACK_MAX_TOKENS;
};

/**
 * How a model thinks (Anthropic's "thinking troubleshooting" table, providers.md §1.4):
 * - `adaptive`: Opus 4.7 and later, Sonnet 5, Fable 5, Mythos 5 answer 400
 *   `"thinking.type.enabled" is not supported for this model` to a budget, and take
 *   `{type:"adaptive"}` with `output_config.effort`; they also take only the default
 *   `temperature` and `top_p`, so the gateway sends neither;
 * - `none`: Claude 3 and 3.5 (and older) have no extended thinking: a `thinking` field is a 400;
 * - `budget`: every other Claude (3.7, 4, 4.1, 4.5, 4.6, Mythos Preview) takes
 *   `{type:"enabled", budget_tokens}`.
 */
export type ThinkingMode = "budget" | "adaptive" | "none";

export const thinkingMode = (model: string): ThinkingMode => {
  const name = model.toLowerCase();
  if (/opus-4[-.][7-9]|(?:opus|sonnet|haiku)-[5-9]|fable|mythos-[5-9]/.test(name)) return "adaptive";
  if (/claude-(?:3[-.](?:5|opus|sonnet|haiku)|2|instant)/.test(name)) return "none";
  return "budget";
};

/**
 * `reasoning.effort` as a thinking budget (`budget_tokens`, ≥ 1,024). `minimal` and `none`
 * (and no effort) mean no thinking: the budget's floor of 1,024 is already more than
 * `minimal` asks for.
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 32000,
};

/** The API's floor for `budget_tokens` (providers.md §1.4). */
export const MIN_THINKING_BUDGET = 1024;

/** Room kept for the answer when a budget must shrink to fit a default `max_tokens`. */
export const ANSWER_ROOM = 4096;
