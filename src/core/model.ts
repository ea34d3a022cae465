/**
 * Which model serves a request, as every stage names it: auth checks it
 * against a key's allow-list and prices it, routing tries it, encode reports
 * it. Here, below the stages, so none of them imports another for it.
 */

export interface ModelRef {
  readonly provider: string;
  /** The model name sent upstream, without the provider prefix. */
  readonly model: string;
  /** `provider/model`, the name used in allow-lists, metrics and logs. */
  readonly label: string;
}

/** Which attempt is (or was) serving the request. */
export interface AttemptInfo {
  readonly ref: ModelRef;
  /** 0 for the primary, n for `fallbacks[n-1]`. */
  readonly fallbackIndex: number;
  /** Upstream attempts made so far for this request, this one included. */
  readonly attempts: number;
}
