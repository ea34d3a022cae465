/** What the encode specs share: a plain encode context and an ApplyPatch patch. */
import type { EncodeContext } from "../../src/encode/context.ts";

export const PATCH = "*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = 2;\n*** End Patch";

/** A context for `openai/gpt-5` served by the primary on its first attempt, unpriced. */
export const encodeContext = (id: string, overrides: Partial<EncodeContext> = {}): EncodeContext => ({
  id,
  created: 1767225600,
  model: "openai/gpt-5",
  attempt: () => ({
    ref: { provider: "openai", model: "gpt-5", label: "openai/gpt-5" },
    fallbackIndex: 0,
    attempts: 1,
  }),
  startedAt: performance.now(),
  price: () => undefined,
  ...overrides,
});
