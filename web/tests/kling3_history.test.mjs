// Logic of the history panel and the budget settings: lines, costs, totals, budgets, input.
// Run: node --test web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  amountField, budgetStatusText, costText, isRequestId, lineActions, lineSignature, lineTime, mergeOlder,
  nextBefore, parseAmount, parseDays, setByEnvironment, settingsText, stateKind, STATES, totalsRow, totalsRows,
  usd,
} from "../js/kling3_history_logic.js";

const line = (extra = {}) => ({
  id: 7, request_id: "req-123_abc", state: "done", created_at: 1_700_000_000, updated_at: 1_700_000_060,
  prompt: "a cat", duration: 5, aspect_ratio: "16:9", sound: true, shots: 1, estimate_usd: 0.84,
  cost_usd: 0.84, video_cached: true, error: null, ...extra,
});

test("amounts read as dollars with two decimals; missing ones as a dash", () => {
  assert.equal(usd(0.84), "$0.84");
  assert.equal(usd(1.5), "$1.50");
  assert.equal(usd(0), "$0.00");
  assert.equal(usd("2.345"), "$2.35");
  for (const missing of [null, undefined, "", "x", NaN, Infinity]) assert.equal(usd(missing), "\u2014");
});

test("a line's time: today and yesterday by name, older days by date (local time)", () => {
  const now = new Date(2026, 10, 30, 15, 0).getTime();
  const at = (...parts) => new Date(...parts).getTime() / 1000;
  assert.equal(lineTime(at(2026, 10, 30, 9, 5), now), "Today 09:05");
  assert.equal(lineTime(at(2026, 10, 29, 23, 59), now), "Yesterday 23:59");
  assert.equal(lineTime(at(2026, 10, 28, 14, 32), now), "2026-11-28 14:32");
  assert.equal(lineTime(at(2025, 11, 31, 8, 0), new Date(2026, 0, 1, 1, 0).getTime()), "Yesterday 08:00");
  assert.equal(lineTime(null, now), "");
});

test("settings read duration, ratio, sound and shots (one shot is not mentioned)", () => {
  assert.equal(settingsText(line()), "5 s \u00b7 16:9 \u00b7 sound");
  assert.equal(settingsText(line({ duration: 12, sound: false, shots: 3, aspect_ratio: "9:16" })),
    "12 s \u00b7 9:16 \u00b7 no sound \u00b7 3 shots");
  assert.equal(settingsText({}), "");
  assert.equal(settingsText(line({ duration: null, aspect_ratio: null, sound: null })), "");
});

test("each state has its badge; unknown states look muted", () => {
  assert.equal(stateKind(STATES.done), "ok");
  assert.equal(stateKind(STATES.failed), "bad");
  assert.equal(stateKind(STATES.unknown), "warn");
  assert.equal(stateKind(STATES.generating), "run");
  assert.equal(stateKind(STATES.queued), "run");
  assert.equal(stateKind(STATES.cancelled), "muted");
  assert.equal(stateKind(STATES.neverCreated), "muted");
  assert.equal(stateKind("something new"), "muted");
});

test("cost: the estimate, then what was charged, or that nothing was", () => {
  assert.equal(costText(line()), "est. $0.84 \u00b7 charged $0.84");
  assert.equal(costText(line({ state: "generating", cost_usd: null })), "est. $0.84");
  for (const state of [STATES.failed, STATES.cancelled, STATES.neverCreated]) {
    assert.equal(costText(line({ state, cost_usd: null })), "est. $0.84 \u00b7 not charged");
  }
  assert.equal(costText(line({ estimate_usd: null, cost_usd: null, state: "generating" })), "est. \u2014");
});

test("actions: copy and add need a request id, play a cached video, resolve an unknown outcome", () => {
  assert.deepEqual(lineActions(line()), { copy: true, addNode: true, play: true, resolve: false });
  assert.deepEqual(lineActions(line({ video_cached: false })), { copy: true, addNode: true, play: false, resolve: false });
  assert.deepEqual(lineActions(line({ state: STATES.unknown, request_id: null, video_cached: false })),
    { copy: false, addNode: false, play: false, resolve: true });
  assert.deepEqual(lineActions(line({ state: STATES.neverCreated, video_cached: false })),
    { copy: true, addNode: false, play: false, resolve: false });
  // an id that is not a request id (say, a damaged record) offers nothing that would use it
  assert.deepEqual(lineActions(line({ request_id: "../etc" })), { copy: false, addNode: false, play: false, resolve: false });
});

test("request ids: letters, digits, '-' and '_', 1 to 128 characters", () => {
  assert.ok(isRequestId("535e5f27-f882-486b-b019-f1bf1cfc6e85"));
  assert.ok(isRequestId("a_b"));
  for (const bad of ["", " x", "a/b", "a b", "x".repeat(129), null, 5]) assert.equal(isRequestId(bad), false);
});

test("totals against a budget: text, bar fraction, and a warning near and at the limit", () => {
  const spend = (spent, inFlight) => ({ spent_usd: spent, in_flight_usd: inFlight, committed_usd: spent + inFlight });
  assert.deepEqual(totalsRow("Today", spend(1.4, 0), { usd: null, source: null }),
    { label: "Today", text: "$1.40 spent \u00b7 no budget", fraction: null, level: "ok" });
  const half = totalsRow("Today", spend(1, 0.5), { usd: 3, source: "settings" });
  assert.equal(half.text, "$1.00 spent + $0.50 in flight of $3.00");
  assert.equal(half.fraction, 0.5);
  assert.equal(half.level, "ok");
  assert.equal(totalsRow("Today", spend(2.5, 0), { usd: 3 }).level, "near");
  const full = totalsRow("Today", spend(2.5, 0.5), { usd: 3 });
  assert.equal(full.level, "full");
  assert.equal(full.fraction, 1);
  assert.match(full.note, /refused/);
  assert.equal(totalsRow("Today", spend(5, 0), { usd: 3 }).fraction, 1);
  assert.equal(totalsRow("Today", spend(0, 0), { usd: 0 }).level, "full");  // a zero budget stops everything
  const rows = totalsRows({ totals: { today: spend(1, 0), month: spend(9, 1) },
    budgets: { daily: { usd: null }, monthly: { usd: 20, source: "RUNCOMFY_KLING3_MONTHLY_BUDGET_USD" } } });
  assert.deepEqual(rows.map((r) => r.label), ["Today", "This month"]);
  assert.equal(rows[1].text, "$9.00 spent + $1.00 in flight of $20.00");
  assert.equal(totalsRows({})[0].text, "$0.00 spent \u00b7 no budget");
});

test("a budget setting says what is in force and whether the environment decides it", () => {
  assert.equal(budgetStatusText({ usd: null, source: null }, "daily"), "No limit");
  assert.equal(budgetStatusText({ usd: 5, source: "settings" }, "daily"), "$5.00 a day, saved in these settings");
  const env = { usd: 40, source: "RUNCOMFY_KLING3_MONTHLY_BUDGET_USD" };
  assert.equal(budgetStatusText(env, "monthly"),
    "$40.00 a month, set by the environment variable RUNCOMFY_KLING3_MONTHLY_BUDGET_USD, which wins over this setting");
  assert.equal(setByEnvironment(env), true);
  assert.equal(setByEnvironment({ usd: 5, source: "settings" }), false);
  assert.equal(setByEnvironment(undefined), false);
});

test("typed amounts: empty is no limit, a '$' is allowed, anything else is refused", () => {
  assert.deepEqual(parseAmount(""), { ok: true, value: null });
  assert.deepEqual(parseAmount("  "), { ok: true, value: null });
  assert.deepEqual(parseAmount("5"), { ok: true, value: 5 });
  assert.deepEqual(parseAmount("$2.50"), { ok: true, value: 2.5 });
  assert.deepEqual(parseAmount("0.005"), { ok: true, value: 0.01 });
  assert.deepEqual(parseAmount(".5"), { ok: true, value: 0.5 });
  assert.deepEqual(parseAmount("0"), { ok: true, value: 0 });
  for (const bad of ["-1", "abc", "1e3", "1,5", "NaN", "Infinity", "5 USD"]) {
    assert.equal(parseAmount(bad).ok, false, bad);
    assert.match(parseAmount(bad).error, /USD/);
  }
  assert.match(parseDays("x").error, /days/);
  assert.deepEqual(parseDays("30"), { ok: true, value: 30 });
  assert.equal(amountField(null), "");
  assert.equal(amountField(2.5), "2.5");
});

test("paging: the next page starts below the oldest line shown; pages merge without repeats", () => {
  const lines = [{ id: 9 }, { id: 8 }, { id: 5 }];
  assert.equal(nextBefore(lines, 3), 5);
  assert.equal(nextBefore(lines, 50), null);
  assert.equal(nextBefore([], 50), null);
  assert.deepEqual(mergeOlder(lines, [{ id: 5 }, { id: 4 }]).map((l) => l.id), [9, 8, 5, 4]);
});

test("a line is redrawn only when what it shows changed", () => {
  assert.equal(lineSignature(line()), lineSignature(line()));
  assert.notEqual(lineSignature(line()), lineSignature(line({ state: "failed" })));
  assert.notEqual(lineSignature(line()), lineSignature(line({ video_cached: false })));
  assert.notEqual(lineSignature(line()), lineSignature(line({ cost_usd: 0.9 })));
});
