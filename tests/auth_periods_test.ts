import assert from "node:assert/strict";
import { periodBounds, secondsToNextMinute, windowsAt } from "../src/auth/periods.ts";

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("windows are labelled by UTC minute, day, ISO week and month", () => {
  assert.deepEqual(windowsAt(Date.UTC(2025, 2, 7, 23, 59, 59, 999)), {
    minute: Date.UTC(2025, 2, 7, 23, 59),
    day: "2025-03-07",
    week: "2025-W10",
    month: "2025-03",
  });
});

Deno.test("the ISO week belongs to the year of its Thursday, across New Year", () => {
  assert.equal(windowsAt(Date.UTC(2024, 11, 30)).week, "2025-W01"); // Monday 2024-12-30
  assert.equal(windowsAt(Date.UTC(2025, 0, 5, 23)).week, "2025-W01"); // Sunday
  assert.equal(windowsAt(Date.UTC(2025, 0, 6)).week, "2025-W02");
  assert.equal(windowsAt(Date.UTC(2021, 0, 3)).week, "2020-W53"); // Sunday after a 53-week year
  assert.equal(windowsAt(Date.UTC(2026, 11, 31)).week, "2026-W53");
});

Deno.test("budget periods are the calendar day, the ISO week from Monday, the month, or none for total", () => {
  const now = Date.UTC(2025, 0, 8, 12, 34, 56); // Wednesday
  const bounds = (period: "1d" | "1w" | "1M") => {
    const b = periodBounds(period, now)!;
    return [iso(b.start), iso(b.end)];
  };
  assert.deepEqual(bounds("1d"), ["2025-01-08T00:00:00.000Z", "2025-01-09T00:00:00.000Z"]);
  assert.deepEqual(bounds("1w"), ["2025-01-06T00:00:00.000Z", "2025-01-13T00:00:00.000Z"]);
  assert.deepEqual(bounds("1M"), ["2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z"]);
  assert.equal(periodBounds("total", now), undefined);
  const december = periodBounds("1M", Date.UTC(2025, 11, 31, 23))!;
  assert.equal(iso(december.end), "2026-01-01T00:00:00.000Z");
  const sunday = periodBounds("1w", Date.UTC(2025, 0, 12, 23, 59))!;
  assert.equal(iso(sunday.start), "2025-01-06T00:00:00.000Z");
});

Deno.test("Retry-After counts whole seconds to the next minute, at least one", () => {
  assert.equal(secondsToNextMinute(Date.UTC(2025, 0, 1, 0, 0, 45)), 15);
  assert.equal(secondsToNextMinute(Date.UTC(2025, 0, 1, 0, 0, 0)), 60);
  assert.equal(secondsToNextMinute(Date.UTC(2025, 0, 1, 0, 0, 59, 700)), 1);
});
