// The spend guard's entries in ComfyUI's settings dialog: a budget per day and per month in USD,
// how many days finished ledger records are kept, and how many jobs may be in flight at once
// (core/slots.py: a prompt list runs one job per prompt, at most this many at the same time).
//
// Like the token entry, they are custom-rendered settings whose own values stay empty: what is
// typed goes to POST /runcomfy/kling3/budget (saved in the pack's state database on the server,
// where the spend guard reads it), and each entry shows what the server has in force. When
// RUNCOMFY_KLING3_DAILY_BUDGET_USD / _MONTHLY_BUDGET_USD / _KEEP_DAYS / _MAX_PARALLEL is set on the
// server, the environment wins (for hosted machines): the entry says so and its field is read-only.

import { amountField, budgetStatusText, parseAmount, parseDays, setByEnvironment } from "./kling3_history_logic.js";
import { t } from "./kling3_i18n.js";
import { addStyleOnce, el } from "./kling3_dom.js";

export const BUDGET_ROUTE = "/runcomfy/kling3/budget";
const CATEGORY = ["RunComfy", "Kling 3.0 spending"];
const DEFAULT_KEEP_DAYS = 90;   // the server's default (core/spend_guard.py)
// core/slots.py: DEFAULT_MAX_PARALLEL, LIMIT_RANGE (web/tests/max_parallel_cases.json holds both sides to it)
export const PARALLEL = Object.freeze({ default: 4, min: 1, max: 32 });

// Every user-visible string of this file. The settings' names and tooltips are registered in English
// (ComfyUI's settings dialog translates them from locales/<lang>/settings.json); the rest are getters
// through t(), so the language is read when the text is shown.
export const SETTINGS_TEXT = Object.freeze({
  daily: "Daily budget (USD)",
  dailyTooltip: "Runs that would take today's spend (charged, plus the estimates of jobs still running) "
    + "over this amount are refused before anything is sent. Empty: no limit. "
    + "RUNCOMFY_KLING3_DAILY_BUDGET_USD on the server wins over it.",
  monthly: "Monthly budget (USD)",
  monthlyTooltip: "The same for the calendar month. Empty: no limit. "
    + "RUNCOMFY_KLING3_MONTHLY_BUDGET_USD on the server wins over it.",
  parallel: "Jobs at once",
  parallelTooltip: "How many Kling 3.0 jobs this ComfyUI submits and waits for at the same time (a prompt list "
    + "runs one job per prompt); the others wait for a slot. Empty: 4. "
    + "RUNCOMFY_KLING3_MAX_PARALLEL on the server wins over it.",
  keep: "Keep history (days)",
  keepTooltip: "Finished records older than this are removed, at most once a day. This and last month's "
    + "cost lines are always kept. Empty: 90 days. RUNCOMFY_KLING3_KEEP_DAYS on the server wins over it.",
  get placeholderAmount() { return t("kling3.budget.noLimitPlaceholder", "no limit"); },
  placeholderDays: "90",
  get reading() { return t("kling3.budget.reading", "Reading the server's budget\u2026"); },
  get saved() { return t("kling3.budget.saved", "Saved."); },
  unreachable: (message) => t("kling3.budget.unreachable", "The pack's server routes did not answer ({message}).",
    { message }),
  keepStatus: (days) => t("kling3.budget.keepStatus", "In force: {days} days.", { days }),
  get keepEnvWins() {
    return t("kling3.budget.keepEnvWins", "RUNCOMFY_KLING3_KEEP_DAYS is set on the server and wins over this setting.");
  },
  jobs: (jobs) => (jobs === 1 ? t("kling3.budget.parallelOne", "1 job at once")
    : t("kling3.budget.parallelMany", "{jobs} jobs at once", { jobs })),
  parallelDefault: (jobs) => t("kling3.budget.parallelDefault", "In force: {jobs} (the default).", { jobs }),
  parallelSaved: (jobs) => t("kling3.budget.parallelSaved", "In force: {jobs}, saved in these settings.", { jobs }),
  parallelEnv: (jobs, name) => t("kling3.budget.parallelEnv",
    "In force: {jobs}, set by the environment variable {name} on the server: a value saved here does not apply.",
    { jobs, name }),
  get badJobs() {
    return t("kling3.budget.badJobs", "Enter a whole number of jobs from {min} to {max}, or leave it empty for the "
      + "default ({default}).", { min: PARALLEL.min, max: PARALLEL.max, default: PARALLEL.default });
  },
});

/** A typed limit of jobs in flight: {ok: true, value: whole number | null (the default)} or {ok: false, error};
 * core/slots.py's parse_limit for plain digits (it also takes Python's "1_0" and non-ASCII digits; this does not). */
export function parseJobs(text) {
  const raw = String(text ?? "").trim();
  if (!raw) return { ok: true, value: null };
  const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(value) && value >= PARALLEL.min && value <= PARALLEL.max
    ? { ok: true, value } : { ok: false, error: SETTINGS_TEXT.badJobs };
}

/** What the jobs entry says about GET /runcomfy/kling3/budget's `max_parallel` ({jobs, source}). */
export function parallelStatusText(limit) {
  const jobs = Number.isSafeInteger(limit?.jobs) ? limit.jobs : PARALLEL.default;
  const source = limit?.source ?? "default";
  if (source === "default") return SETTINGS_TEXT.parallelDefault(SETTINGS_TEXT.jobs(jobs));
  if (source === "settings") return SETTINGS_TEXT.parallelSaved(SETTINGS_TEXT.jobs(jobs));
  return SETTINGS_TEXT.parallelEnv(SETTINGS_TEXT.jobs(jobs), source);
}

/** The jobs field's text: empty while the default is in force (the placeholder shows it). */
export function parallelField(limit) {
  return limit?.source && limit.source !== "default" && Number.isSafeInteger(limit.jobs) ? String(limit.jobs) : "";
}

export const SETTING_IDS = Object.freeze({
  daily: "RunComfy.Kling3.DailyBudgetUSD",
  monthly: "RunComfy.Kling3.MonthlyBudgetUSD",
  keep: "RunComfy.Kling3.KeepDays",
  parallel: "RunComfy.Kling3.MaxParallel",
});

// ComfyUI's own controls: PrimeVue's input class (the settings dialog's input look, as the token
// entry); the rules below only size and lay them out, and stand in for PrimeVue's look where its
// styles are not loaded (they are weaker: :where()).
const INPUT_CLASS = "p-inputtext p-component";
const STYLE = `
.rk3-budget { display: flex; flex-direction: column; align-items: flex-end; gap: 4px; min-width: 240px;
  max-width: 26rem; text-align: right; }
.rk3-budget input.rk3-budget-input { width: 10rem; }
:where(.rk3-budget input) { padding: 6px 10px; border-radius: 6px; border: 1px solid var(--border-color, #555);
  background: var(--comfy-input-bg, #222); color: var(--input-text, #ddd); font: inherit; }
.rk3-budget input:read-only { opacity: .6; }
.rk3-budget-status { font-size: 12px; color: var(--p-text-muted-color, var(--descrip-text, #999)); }
.rk3-budget-error { font-size: 12px; color: #e0564f; min-height: 1em; }
.rk3-budget-error:empty { display: none; }
`;


// kind -> the field of POST /runcomfy/kling3/budget it saves
const FIELDS = { daily: "daily_usd", monthly: "monthly_usd", keep: "keep_days", parallel: "max_parallel" };

function parseField(kind, text) {
  if (kind === "parallel") return parseJobs(text);
  return kind === "keep" ? parseDays(text) : parseAmount(text);
}

/**
 * One entry's element. `kind`: "daily" | "monthly" | "keep" | "parallel". `request(path, {method, body})`
 * resolves to the JSON answer or throws an Error with the server's message; `onSaved(answer)`
 * runs after a save (the history panel refreshes its totals).
 */
export function budgetSettingElement(kind, request, onSaved = () => {}) {
  addStyleOnce("budget", STYLE);
  const root = el("div", `rk3-budget rk3-budget-${kind}`);
  const input = el("input", `${INPUT_CLASS} rk3-budget-input`);
  const placeholder = kind === "parallel" ? String(PARALLEL.default)
    : kind === "keep" ? SETTINGS_TEXT.placeholderDays : SETTINGS_TEXT.placeholderAmount;
  Object.assign(input, { type: "text", inputMode: kind === "parallel" ? "numeric" : "decimal", autocomplete: "off",
    spellcheck: false, placeholder, name: `runcomfy-kling3-${kind}` });
  const status = el("div", "rk3-budget-status", SETTINGS_TEXT.reading);
  const error = el("div", "rk3-budget-error");
  root.append(input, status, error);
  let shown = "";   // the field's text as last shown from the server
  let typed = false; // typed into since: an answer arriving late must not overwrite it

  // `wanted`: the keep-days value just saved; when the server answers another, the environment won.
  const show = (answer, wanted) => {
    if (kind === "keep") {
      const days = answer?.keep_days;
      const fromEnvironment = Boolean(answer?.keep_days_source) || (wanted !== undefined && wanted !== days);
      status.textContent = SETTINGS_TEXT.keepStatus(days) + (fromEnvironment ? ` ${SETTINGS_TEXT.keepEnvWins}` : "");
      input.readOnly = Boolean(answer?.keep_days_source);
      shown = amountField(days);
    } else if (kind === "parallel") {
      const limit = answer?.max_parallel;
      status.textContent = parallelStatusText(limit);
      input.readOnly = Boolean(limit?.source && !["settings", "default"].includes(limit.source));
      shown = parallelField(limit);
    } else {
      const budget = answer?.budgets?.[kind];
      status.textContent = budgetStatusText(budget, kind);
      input.readOnly = setByEnvironment(budget);
      shown = amountField(budget?.usd);
    }
    if (!typed) input.value = shown;
  };

  const save = async () => {
    const parsed = parseField(kind, input.value);
    if (!parsed.ok) {
      error.textContent = parsed.error;
      return;
    }
    error.textContent = "";
    typed = false;
    if (input.readOnly || amountField(parsed.value) === shown) return;
    try {
      const answer = await request(BUDGET_ROUTE, { method: "POST", body: { [FIELDS[kind]]: parsed.value } });
      show(answer, kind === "keep" ? parsed.value ?? DEFAULT_KEEP_DAYS : undefined);
      error.textContent = "";
      onSaved(answer);
    } catch (failure) {
      error.textContent = failure?.message || String(failure);
    }
  };

  input.addEventListener("input", () => { typed = true; });
  input.addEventListener("change", save);
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();   // typing here must not trigger ComfyUI's keyboard shortcuts
    if (event.key === "Enter") input.blur();
  });
  request(BUDGET_ROUTE).then((answer) => show(answer), (failure) => {
    status.textContent = SETTINGS_TEXT.unreachable(failure?.message || failure);
  });
  return root;
}

/** The four entries for app.registerExtension({settings}). */
export function budgetSettings(request, onSaved) {
  const entry = (kind, name, tooltip, sortOrder) => ({
    id: SETTING_IDS[kind],
    sortOrder,   // higher first: daily, monthly, jobs at once, keep
    category: [...CATEGORY, name],
    name,
    tooltip,
    defaultValue: "",
    type: () => budgetSettingElement(kind, request, onSaved),
  });
  return [
    entry("daily", SETTINGS_TEXT.daily, SETTINGS_TEXT.dailyTooltip, 30),
    entry("monthly", SETTINGS_TEXT.monthly, SETTINGS_TEXT.monthlyTooltip, 20),
    entry("parallel", SETTINGS_TEXT.parallel, SETTINGS_TEXT.parallelTooltip, 15),
    entry("keep", SETTINGS_TEXT.keep, SETTINGS_TEXT.keepTooltip, 10),
  ];
}
