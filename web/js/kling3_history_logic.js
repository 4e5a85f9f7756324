// Pure logic of the history panel and the budget settings: how a ledger line, the totals and the
// budgets read, and the Spending tab's title in the user's language. No DOM, no ComfyUI: tested
// with node --test (web/tests/kling3_history.test.mjs, kling3_locale_switch.test.mjs).
//
// A ledger line (GET /runcomfy/kling3/history): {id, request_id, state, created_at, updated_at
// (seconds since the epoch), prompt (excerpt), duration, aspect_ratio, sound, shots, estimate_usd,
// cost_usd, video_cached, error}.

import { onLocaleChange, t } from "./kling3_i18n.js";

// Every user-visible string of the panel and the budget settings, in one place: getters through t()
// (kling3_i18n.js), so the language is read when the text is shown.
export const TEXT = Object.freeze({
  get today() { return t("kling3.history.today", "Today"); },
  get yesterday() { return t("kling3.history.yesterday", "Yesterday"); },
  get month() { return t("kling3.history.month", "This month"); },
  get spent() { return t("kling3.history.spent", "spent"); },
  get inFlight() { return t("kling3.history.inFlight", "in flight"); },
  get of() { return t("kling3.history.of", "of"); },
  get noBudget() { return t("kling3.history.noBudget", "no budget"); },
  get overBudget() { return t("kling3.history.overBudget", "budget reached: new runs are refused"); },
  get estimate() { return t("kling3.history.estimate", "est."); },
  get charged() { return t("kling3.history.charged", "charged"); },
  get notCharged() { return t("kling3.history.notCharged", "not charged"); },
  get sound() { return t("kling3.history.sound", "sound"); },
  get silent() { return t("kling3.history.silent", "no sound"); },
  shots: (n) => t("kling3.history.shots", "{n} shots", { n }),
  get perDay() { return t("kling3.history.perDay", "a day"); },
  get perMonth() { return t("kling3.history.perMonth", "a month"); },
  get noLimit() { return t("kling3.history.noLimit", "No limit"); },
  get setHere() { return t("kling3.history.setHere", "saved in these settings"); },
  envWins: (name) => t("kling3.history.envWins", "set by the environment variable {name}, which wins over this setting",
    { name }),
  get badAmount() { return t("kling3.history.badAmount", "Enter an amount in USD (0 or more), or leave it empty for no limit."); },
  get badDays() { return t("kling3.history.badDays", "Enter a number of days (0 or more), or leave it empty for the default."); },
  get badRequestId() {
    return t("kling3.history.badRequestId", "A RunComfy request id has only letters, digits, '-' and '_'.");
  },
});

// The server's words for a line's state: data (compared, sent back), shown through stateLabel().
export const STATES = Object.freeze({
  unknown: "unknown outcome", generating: "generating", done: "done", failed: "failed",  // i18n-ignore
  cancelled: "cancelled", neverCreated: "never created", queued: "queued",  // i18n-ignore
});

// state (as the server words it, kept as data) -> its label in the user's language
const STATE_LABELS = {
  [STATES.unknown]: () => t("kling3.history.stateUnknown", "unknown outcome"),
  [STATES.generating]: () => t("kling3.history.stateGenerating", "generating"),
  [STATES.done]: () => t("kling3.history.stateDone", "done"),
  [STATES.failed]: () => t("kling3.history.stateFailed", "failed"),
  [STATES.cancelled]: () => t("kling3.history.stateCancelled", "cancelled"),
  [STATES.neverCreated]: () => t("kling3.history.stateNeverCreated", "never created"),
  [STATES.queued]: () => t("kling3.history.stateQueued", "queued"),
};

/** A ledger line's state as shown ("done" -> "완료" in Korean); unknown states as sent. */
export function stateLabel(state) {
  return Object.hasOwn(STATE_LABELS, state ?? "") ? STATE_LABELS[state]() : String(state ?? "");
}

// state -> the look of its badge
const STATE_KINDS = {
  [STATES.done]: "ok", [STATES.failed]: "bad", [STATES.cancelled]: "muted", [STATES.neverCreated]: "muted",
  [STATES.generating]: "run", [STATES.queued]: "run", [STATES.unknown]: "warn",
};
// states in which nothing was charged (the ledger's totals leave them out)
const FREE_STATES = new Set([STATES.failed, STATES.cancelled, STATES.neverCreated]);

const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function isRequestId(text) {
  return typeof text === "string" && REQUEST_ID.test(text);
}

function finite(value) {
  const number = typeof value === "number" ? value : (typeof value === "string" && value.trim() ? Number(value) : NaN);
  return Number.isFinite(number) ? number : null;
}

export function usd(amount) {
  const value = finite(amount);
  return value === null ? "\u2014" : `$${value.toFixed(2)}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** When a line was made, in local time: "Today 14:32", "Yesterday 09:05", "2026-11-28 14:32". */
export function lineTime(createdAtS, nowMs = Date.now()) {
  const seconds = finite(createdAtS);
  if (seconds === null) return "";
  const when = new Date(seconds * 1000);
  const clock = `${pad(when.getHours())}:${pad(when.getMinutes())}`;
  const day = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const now = new Date(nowMs);
  if (day(when) === day(now)) return `${TEXT.today} ${clock}`;
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (day(when) === day(yesterday)) return `${TEXT.yesterday} ${clock}`;
  return `${day(when)} ${clock}`;
}

/** The line's settings: "5 s · 16:9 · sound · 3 shots". */
export function settingsText(line) {
  const parts = [];
  if (finite(line?.duration) !== null) parts.push(`${finite(line.duration)} s`);
  if (line?.aspect_ratio) parts.push(String(line.aspect_ratio));
  if (typeof line?.sound === "boolean") parts.push(line.sound ? TEXT.sound : TEXT.silent);
  if (finite(line?.shots) > 1) parts.push(TEXT.shots(finite(line.shots)));
  return parts.join(" \u00b7 ");
}

export function stateKind(state) {
  return STATE_KINDS[state] ?? "muted";
}

/** "est. $0.84 · charged $0.84", or "est. $0.84 · not charged" for jobs that cost nothing. */
export function costText(line) {
  const parts = [`${TEXT.estimate} ${usd(line?.estimate_usd)}`];
  if (FREE_STATES.has(line?.state)) parts.push(TEXT.notCharged);
  else if (finite(line?.cost_usd) !== null) parts.push(`${TEXT.charged} ${usd(line.cost_usd)}`);
  return parts.join(" \u00b7 ");
}

/** Which actions a line offers. */
export function lineActions(line) {
  const hasId = isRequestId(line?.request_id ?? "");
  return {
    copy: hasId,
    addNode: hasId && line.state !== STATES.neverCreated,
    play: hasId && line.video_cached === true,
    resolve: line?.state === STATES.unknown,
  };
}

/**
 * One period's spend against its budget: {label, text, fraction (0..1, null without a budget),
 * level ("ok" | "near" | "full")}. `spend` is {spent_usd, in_flight_usd, committed_usd},
 * `budget` {usd, source}.
 */
export function totalsRow(label, spend, budget) {
  const spent = finite(spend?.spent_usd) ?? 0;
  const inFlight = finite(spend?.in_flight_usd) ?? 0;
  const committed = finite(spend?.committed_usd) ?? spent + inFlight;
  const limit = finite(budget?.usd);
  let text = `${usd(spent)} ${TEXT.spent}`;
  if (inFlight > 0) text += ` + ${usd(inFlight)} ${TEXT.inFlight}`;
  text += limit === null ? ` \u00b7 ${TEXT.noBudget}` : ` ${TEXT.of} ${usd(limit)}`;
  if (limit === null) return { label, text, fraction: null, level: "ok" };
  const fraction = limit > 0 ? Math.min(1, committed / limit) : 1;
  const level = committed >= limit - 1e-9 ? "full" : fraction >= 0.8 ? "near" : "ok";
  return { label, text, fraction, level, note: level === "full" ? TEXT.overBudget : "" };
}

export function totalsRows(answer) {
  return [
    totalsRow(TEXT.today, answer?.totals?.today, answer?.budgets?.daily),
    totalsRow(TEXT.month, answer?.totals?.month, answer?.budgets?.monthly),
  ];
}

/** What a budget setting shows under its field: the budget in force and where it comes from. */
export function budgetStatusText(budget, period) {
  const limit = finite(budget?.usd);
  if (limit === null) return TEXT.noLimit;
  const per = period === "monthly" ? TEXT.perMonth : TEXT.perDay;
  const where = budget?.source && budget.source !== "settings" ? TEXT.envWins(budget.source) : TEXT.setHere;
  return `${usd(limit)} ${per}, ${where}`;
}

/** Whether the environment decides this budget (then the field cannot change it). */
export function setByEnvironment(budget) {
  return Boolean(budget?.source && budget.source !== "settings");
}

/** A typed budget: {ok: true, value: number | null (no limit)} or {ok: false, error}. */
export function parseAmount(text, error = TEXT.badAmount) {
  const raw = String(text ?? "").trim().replace(/^\$/, "");
  if (!raw) return { ok: true, value: null };
  if (!/^\d+(\.\d*)?$|^\.\d+$/.test(raw)) return { ok: false, error };
  const value = Number(raw);
  return Number.isFinite(value) ? { ok: true, value: Math.round(value * 100) / 100 } : { ok: false, error };
}

export function parseDays(text) {
  return parseAmount(text, TEXT.badDays);
}

/** The field's text for a stored amount (empty for none). */
export function amountField(value) {
  const number = finite(value);
  return number === null ? "" : String(number);
}

/** The next page's `before` (the oldest id shown), or null when the last page was short. */
export function nextBefore(lines, limit) {
  if (!Array.isArray(lines) || lines.length < limit || !lines.length) return null;
  return lines[lines.length - 1].id;
}

/** A stable text of what a line shows, to redraw only the lines that changed. */
export function lineSignature(line) {
  return JSON.stringify([line?.state, line?.request_id, line?.cost_usd, line?.estimate_usd, line?.video_cached,
    line?.error, line?.updated_at, line?.prompt]);
}

/** The page's newest-first list after loading `older` lines below `current` (no duplicates). */
export function mergeOlder(current, older) {
  const seen = new Set(current.map((line) => line.id));
  return [...current, ...older.filter((line) => !seen.has(line.id))];
}

// --- the tab's title and tooltip -----------------------------------------------------------------
// Frontend 1.43 keeps a sidebar tab's title and tooltip as they were registered and shows them
// through its own i18n as st(text, text) (SidebarIcon): a key of its messages is translated, any
// other text is shown as it is. A "kling3." key would show as itself in a language the pack has no
// texts for (its te() looks in the current language only), so the tab is registered with the pack's
// texts and, when the language changes, they are written into the tab the frontend holds (an entry
// of its reactive list of tabs: the button redraws).

/** Write `texts` ({title, tooltip}) into the tab `id` of `tabs` where they differ; whether anything changed. */
export function retitleTab(tabs, id, texts) {
  const tab = Array.isArray(tabs) ? tabs.find((entry) => entry?.id === id) : null;
  if (!tab) return false;
  let changed = false;
  for (const [field, text] of Object.entries(texts ?? {})) {
    if (typeof text !== "string" || tab[field] === text) continue;
    tab[field] = text;
    changed = true;
  }
  return changed;
}

/**
 * Keep the registered `tab`'s title and tooltip in the user's language: `texts()` gives them now,
 * `manager` is app.extensionManager (getSidebarTabs() holds the frontend's entry of the tab), then
 * `redraw()` for what the tab's element shows. Returns the unsubscribe.
 */
export function followLanguage(manager, tab, texts, redraw = () => {}) {
  return onLocaleChange(() => {
    const now = texts();
    const tabs = typeof manager?.getSidebarTabs === "function" ? manager.getSidebarTabs() : null;
    if (!retitleTab(tabs, tab.id, now)) retitleTab([tab], tab.id, now);
    redraw();
  });
}
