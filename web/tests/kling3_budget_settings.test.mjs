// The "Jobs at once" settings entry: what it accepts (the shared cases, also checked by
// tests/test_shared_batch_cases.py against core/slots.py) and what it says about the limit in force.
// Run: node --test web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  budgetSettings, PARALLEL, parallelField, parallelStatusText, parseJobs, SETTING_IDS,
} from "../js/kling3_budget_settings.js";

const shared = JSON.parse(readFileSync(new URL("./max_parallel_cases.json", import.meta.url), "utf8"));

test("the default and the range are the server's", () => {
  assert.equal(PARALLEL.default, shared.default);
  assert.deepEqual([PARALLEL.min, PARALLEL.max], shared.range);
});

test("a typed limit is checked as the server checks it: every shared case", () => {
  for (const { text, jobs } of shared.cases) {
    const parsed = parseJobs(text);
    if (jobs === "error") {
      assert.equal(parsed.ok, false, JSON.stringify(text));
      assert.equal(parsed.error, "Enter a whole number of jobs from 1 to 32, or leave it empty for the default (4).");
    } else {
      assert.deepEqual(parsed, { ok: true, value: jobs }, JSON.stringify(text));
    }
  }
});

test("the entry says where the limit in force comes from", () => {
  assert.equal(parallelStatusText({ jobs: 4, source: "default" }), "In force: 4 jobs at once (the default).");
  assert.equal(parallelStatusText({ jobs: 1, source: "settings" }), "In force: 1 job at once, saved in these settings.");
  assert.equal(parallelStatusText({ jobs: 2, source: "RUNCOMFY_KLING3_MAX_PARALLEL" }),
    "In force: 2 jobs at once, set by the environment variable RUNCOMFY_KLING3_MAX_PARALLEL on the server: "
    + "a value saved here does not apply.");
  assert.equal(parallelStatusText(undefined), "In force: 4 jobs at once (the default).");
});

test("the field shows a saved or environment limit, and stays empty for the default", () => {
  assert.equal(parallelField({ jobs: 4, source: "default" }), "");
  assert.equal(parallelField({ jobs: 6, source: "settings" }), "6");
  assert.equal(parallelField({ jobs: 2, source: "RUNCOMFY_KLING3_MAX_PARALLEL" }), "2");
  assert.equal(parallelField(null), "");
});

test("the entry sits with the budgets, after the monthly one", () => {
  const entries = budgetSettings(async () => ({}), () => {});
  const entry = entries.find((e) => e.id === SETTING_IDS.parallel);
  assert.equal(entry.id, "RunComfy.Kling3.MaxParallel");
  assert.deepEqual(entry.category, ["RunComfy", "Kling 3.0 spending", "Jobs at once"]);
  assert.match(entry.tooltip, /RUNCOMFY_KLING3_MAX_PARALLEL/);
  const order = [...entries].sort((a, b) => b.sortOrder - a.sortOrder).map((e) => e.id.split(".").at(-1));
  assert.deepEqual(order, ["DailyBudgetUSD", "MonthlyBudgetUSD", "MaxParallel", "KeepDays"]);
});
