// What a run costs: the estimate before it (duration × the per-second rate, with or without
// sound, from the pricing route's table or the list prices) and what RunComfy charged after it.
// No ComfyUI imports, no DOM: `node --test web/tests/` runs it as is.

import { t } from "./kling3_i18n.js";

export const DEFAULT_PRICING = Object.freeze({
  per_second_usd: 0.112, per_second_with_sound_usd: 0.168, source: "default",
});

// --- the estimate --------------------------------------------------------------------------------

export function formatUsd(amount, decimals = 2) {
  return `$${Number(amount).toFixed(decimals)}`;
}

function formatRate(rate) {
  // 0.112 -> "$0.112", 0.1 -> "$0.10": never lose a published digit, never show float noise
  const text = Number(rate).toFixed(4).replace(/0+$/, "");
  const decimals = Math.max(2, text.split(".")[1]?.length ?? 0);
  return formatUsd(rate, decimals);
}

/**
 * Estimated price of one run: duration × the per-second rate (with or without sound).
 * Returns null when duration or sound is unknown (e.g. fed by a link).
 */
export function costEstimate(duration, sound, pricing = DEFAULT_PRICING) {
  const seconds = Number(duration);
  if (!Number.isFinite(seconds) || seconds <= 0 || typeof sound !== "boolean") return null;
  const prices = validPricing(pricing) ? pricing : DEFAULT_PRICING;
  const rate = sound ? prices.per_second_with_sound_usd : prices.per_second_usd;
  const usd = seconds * rate;
  const source = prices.source === "api" ? t("kling3.cost.sourceApi", "current API price")
    : t("kling3.cost.sourceList", "list price");
  const values = { seconds, rate: formatRate(rate), source };
  return {
    usd, rate, seconds, sound, source: prices.source,
    text: t("kling3.cost.estimate", "Estimated cost \u2248 {usd}", { usd: formatUsd(usd) }),
    detail: sound ? t("kling3.cost.detailSound", "{seconds} s \u00d7 {rate}/s with sound ({source})", values)
      : t("kling3.cost.detailSilent", "{seconds} s \u00d7 {rate}/s without sound ({source})", values),
  };
}

function validPricing(pricing) {
  return !!pricing && [pricing.per_second_usd, pricing.per_second_with_sound_usd]
    .every((value) => typeof value === "number" && Number.isFinite(value) && value > 0);
}

// --- what the last run was charged ------------------------------------------------------------
// The "done" status event carries `cost_usd` when RunComfy's result said what it charged
// (include_cost). It is shown next to the estimate, always labelled as the last run's: the
// estimate follows the inputs as they are now (the next run's price), the charge is a fact about
// the run that ended, so the label stays true when the user then edits duration, sound or shots,
// and both stay side by side to compare (like that run's status row below). The next event for
// the node (a new run, which brings its own charge) removes it; a run that reported no cost shows
// nothing extra. Kept in the page only: the Spending tab has every job's estimate and charge.

/** {usd, requestId} from a status event, or null when it reports no charge. */
export function chargedOf(payload) {
  const usd = payload?.cost_usd;
  if (payload?.phase !== "done" || typeof usd !== "number" || !Number.isFinite(usd) || usd < 0) return null;
  return { usd, requestId: payload.request_id ? String(payload.request_id) : null };
}

/** The charge's text and tooltip ({text, title}), or null when there is none. */
export function chargedText(charged) {
  if (!charged) return null;
  const usd = formatUsd(charged.usd);
  return {
    text: t("kling3.panel.charged", "last run: {usd} charged", { usd }),
    title: t("kling3.panel.chargedTitle", "RunComfy charged {usd} for the last run's video (request {id}), as "
      + "its API reported it. The estimate is the price of the next run, with the inputs as they are now. A video "
      + "reused from the pack's cache is not charged again. Every job's estimate and charge: the Spending tab.",
    { usd, id: charged.requestId ?? "?" }),
  };
}
