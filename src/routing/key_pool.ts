/**
 * A provider's keys: weighted choice, and cool-downs shared by every request.
 *
 * A key the upstream rejected (401/403, quota) cools down for
 * `key_cooldown_ms`, and a rate-limited key for as long as the upstream asked;
 * the weighted choice skips cooling keys. When every key of the provider is
 * cooling down, the one whose cool-down ends first is used rather than
 * skipping the provider: a provider with a key blip is still better than none.
 * Keys of weight 0 are never chosen.
 */
import type { ProviderKeyConfig } from "../config/load.ts";

export class KeyPool {
  private readonly keys: ReadonlyArray<ProviderKeyConfig>;
  private readonly ids: ReadonlySet<string>;
  /**
   * Key id -> time (ms, the router's clock) when its cool-down ends. Only this
   * pool's ids are kept (see `coolDown`), so the map never outgrows the config.
   */
  private readonly coolingUntil = new Map<string, number>();

  constructor(keys: ReadonlyArray<ProviderKeyConfig>) {
    this.keys = keys.filter((key) => key.weight > 0);
    this.ids = new Set(this.keys.map((key) => key.id));
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * A key by weight among those not cooling down and not in `exclude`; when
   * all of those are cooling, the one whose cool-down ends first. `undefined`
   * when the provider has no key outside `exclude`.
   *
   * @example
   * ```ts
   * const pool = new KeyPool([{ id: "a", value: "sk-a", weight: 1 }]);
   * pool.pick(Date.now(), new Set(), Math.random())?.id; // "a"
   * ```
   */
  pick(now: number, exclude: ReadonlySet<string>, random: number): ProviderKeyConfig | undefined {
    let total = 0;
    let soonest: ProviderKeyConfig | undefined;
    let soonestEnd = Infinity;
    for (const key of this.keys) {
      if (exclude.has(key.id)) continue;
      const until = this.coolingUntil.get(key.id);
      if (until !== undefined && until > now) {
        if (until < soonestEnd) {
          soonestEnd = until;
          soonest = key;
        }
        continue;
      }
      total += key.weight;
    }
    if (total === 0) return soonest;
    let roll = random * total;
    let last: ProviderKeyConfig | undefined;
    for (const key of this.keys) {
      if (exclude.has(key.id) || this.isCooling(key.id, now)) continue;
      last = key;
      roll -= key.weight;
      if (roll < 0) return key;
    }
    return last;
  }

  /** Whether a key other than those in `exclude` is ready (not cooling down). */
  hasReadyKey(now: number, exclude: ReadonlySet<string>): boolean {
    return this.keys.some((key) => !exclude.has(key.id) && !this.isCooling(key.id, now));
  }

  /**
   * Keeps `keyId` out of the weighted choice until `until` (a later cool-down wins).
   * An id that is not one of this pool's keys (a client's own key, say) is ignored:
   * nothing would ever pick it, and remembering it would grow the map per request.
   */
  coolDown(keyId: string, until: number): void {
    if (!this.ids.has(keyId)) return;
    const current = this.coolingUntil.get(keyId);
    if (current === undefined || current < until) this.coolingUntil.set(keyId, until);
  }

  /** The keys cooling down at `now` and when each cool-down ends (read-only; the dashboard's health view). */
  cooling(now: number): Array<{ readonly keyId: string; readonly until: number }> {
    const out: Array<{ readonly keyId: string; readonly until: number }> = [];
    for (const [keyId, until] of this.coolingUntil) if (until > now) out.push({ keyId, until });
    return out;
  }

  isCooling(keyId: string, now: number): boolean {
    const until = this.coolingUntil.get(keyId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.coolingUntil.delete(keyId);
    return false;
  }
}
