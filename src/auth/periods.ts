/**
 * Time windows for limits and budgets, all in UTC.
 *
 * Rate limits use fixed one-minute windows; budgets use calendar periods:
 * the day, the ISO week (Monday to Sunday) and the month. Each window has a
 * label (`2025-03-07`, `2025-W10`, `2025-03`) that stores compare, so no store
 * needs date arithmetic: a record whose label differs from the current one
 * belongs to a past window and counts as zero.
 */

export type BudgetPeriod = "1d" | "1w" | "1M" | "total";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Start (ms since the epoch) of the UTC minute that holds `now`. */
export const minuteStart = (now: number): number => Math.floor(now / MINUTE_MS) * MINUTE_MS;

/** Whole seconds until the next UTC minute begins, at least 1 (for `Retry-After`). */
export const secondsToNextMinute = (now: number): number =>
  Math.max(1, Math.ceil((minuteStart(now) + MINUTE_MS - now) / 1000));

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

const dayStart = (now: number): number => Math.floor(now / DAY_MS) * DAY_MS;

/** Monday 00:00 UTC of the ISO week that holds `now`. */
const weekStart = (now: number): number => {
  const day = dayStart(now);
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
  return day - weekday * DAY_MS;
};

const monthStart = (now: number): number => {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

/** `2025-W10`: the ISO week-numbering year and week, which differ from the calendar year around New Year. */
const isoWeekLabel = (now: number): string => {
  // The ISO week belongs to the year that holds its Thursday.
  const thursday = new Date(weekStart(now) + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${pad(week)}`;
};

/** The labels of the windows that hold `now`; stores key their counters by these. */
export interface Windows {
  /** Start of the current UTC minute, in ms. */
  readonly minute: number;
  readonly day: string;
  readonly week: string;
  readonly month: string;
}

export const windowsAt = (now: number): Windows => {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = pad(date.getUTCMonth() + 1);
  return {
    minute: minuteStart(now),
    day: `${year}-${month}-${pad(date.getUTCDate())}`,
    week: isoWeekLabel(now),
    month: `${year}-${month}`,
  };
};

/** When the budget period holding `now` began and ends (ms), or `undefined` for `total`. */
export const periodBounds = (
  period: BudgetPeriod,
  now: number,
): { readonly start: number; readonly end: number } | undefined => {
  switch (period) {
    case "1d": {
      const start = dayStart(now);
      return { start, end: start + DAY_MS };
    }
    case "1w": {
      const start = weekStart(now);
      return { start, end: start + 7 * DAY_MS };
    }
    case "1M": {
      const start = monthStart(now);
      const date = new Date(start);
      return { start, end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
    }
    case "total":
      return undefined;
  }
};

/** Human words for a period, for error messages. */
export const periodName = (period: BudgetPeriod): string =>
  ({ "1d": "day", "1w": "week", "1M": "month", total: "lifetime" })[period];
