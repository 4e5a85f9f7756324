// Badges on the nodes' title bars, where ComfyUI shows the price of its own API nodes:
//  * the text-to-video node: the estimated price in US dollars (RunComfy bills in dollars, not
//    Comfy credits), following duration, sound and the shots; visible when the node is collapsed;
//  * a multi-shot segment node: its number in the chain and its current length ("Shot 2 · 4 s"),
//    so no title has to say it (a title would go stale when the duration changes);
//  * the node search: the price at the node's default settings, first in its description.
// The texts are pure functions (tested with node --test); the badge objects are LiteGraph's own
// LGraphBadge, which the frontend puts on window.

import { costEstimate, formatUsd } from "./kling3_cost.js";
import { t } from "./kling3_i18n.js";

export const SHOT_COLORS = ["#4f7cff", "#2fb38a", "#d08a2c", "#b05bd6", "#d04f6a", "#3aa6c9"];
const PRICE_COLOR = "#1d6b52";

/** "≈ $0.84" for a cost estimate ({usd}), or "" when there is none. */
export function priceBadgeText(cost) {
  if (!cost || !Number.isFinite(Number(cost.usd))) return "";
  return t("kling3.badge.price", "\u2248 {usd}", { usd: formatUsd(cost.usd) });
}

/** "Shot 2 · 4 s" (number from 1), "Shot 2" while the length comes from a link. */
export function shotBadgeText(index, duration) {
  if (!Number.isFinite(Number(index)) || index < 1) return "";
  return Number.isFinite(Number(duration)) && duration !== null
    ? t("kling3.badge.shot", "Shot {index} \u00b7 {seconds} s", { index, seconds: duration })
    : t("kling3.badge.shotUnknown", "Shot {index}", { index });
}

/**
 * A badge getter for `node.badges`: `describe()` gives {text, bgColor}; the LGraphBadge is
 * made again only when that changes (the canvas asks for it on every frame).
 */
export function badgeGetter(describe, Badge = globalThis.LGraphBadge) {
  let key = null;
  let badge = null;
  const empty = { text: "", height: 0, getWidth: () => 0, draw: () => {} };
  return () => {
    let wanted;
    try {
      wanted = describe();
    } catch {
      wanted = null;
    }
    if (!wanted?.text || typeof Badge !== "function") return empty;
    const next = `${wanted.text}|${wanted.bgColor}`;
    if (next !== key) {
      key = next;
      badge = new Badge({ text: wanted.text, fgColor: "#ffffff", bgColor: wanted.bgColor ?? PRICE_COLOR });
    }
    return badge;
  };
}

/** Put the price badge on a text-to-video node; `cost()` gives the panel's estimate. */
export function addPriceBadge(node, cost) {
  if (!Array.isArray(node.badges) || node.runcomfyKling3PriceBadge) return;
  node.runcomfyKling3PriceBadge = badgeGetter(() => ({ text: priceBadgeText(cost()), bgColor: PRICE_COLOR }));
  node.badges.push(node.runcomfyKling3PriceBadge);
}

/** Put the "Shot n · d s" badge on a segment node; `position()` gives {index, duration}. */
export function addShotBadge(node, position) {
  if (!Array.isArray(node.badges) || node.runcomfyKling3ShotBadge) return;
  node.runcomfyKling3ShotBadge = badgeGetter(() => {
    const where = position();
    if (!where) return null;
    return { text: shotBadgeText(where.index, where.duration),
      bgColor: SHOT_COLORS[(where.index - 1) % SHOT_COLORS.length] };
  });
  node.badges.push(node.runcomfyKling3ShotBadge);
}

// --- the price in ComfyUI's node search --------------------------------------------------------
// Frontend 1.43 draws a price in a search result (NodeSearchListItem -> NodePricingBadge) only for
// a Comfy API node (`api_node`), from its JSONata `price_badge`, converted to Comfy credits next to
// a credits icon (formatPricingResult -> formatCreditsValue: USD x 211); `api_node` would also
// paint the node yellow, file it under the Partner/API nodes and add a second, credits badge on the
// canvas. So the price goes where the result row shows text of the node's own: the description,
// the row's second line (in full in the search's preview card and the node library's hover card;
// the tooltip on a node's title reads the same copy). The frontend hands extensions that copy of
// the definitions in `beforeRegisterVueAppNodeDefs` (changed in place; called again after every
// reload of the definitions, e.g. a change of Comfy.Locale).

/** An input's default in a V1 node definition (INPUT_TYPES as /object_info sends it). */
export function inputDefault(def, name) {
  const spec = def?.input?.required?.[name] ?? def?.input?.optional?.[name];
  return Array.isArray(spec) && spec[1] && typeof spec[1] === "object" ? spec[1].default : undefined;
}

/** "≈ $0.84 for a 5 s video with sound": the price at the definition's defaults, or "". */
export function searchPriceText(def, pricing) {
  const cost = costEstimate(inputDefault(def, "duration"), inputDefault(def, "sound"), pricing);
  if (!cost) return "";
  const values = { price: priceBadgeText(cost), seconds: cost.seconds };
  return cost.sound ? t("kling3.search.priceSound", "{price} for a {seconds} s video with sound", values)
    : t("kling3.search.priceSilent", "{price} for a {seconds} s video without sound", values);
}

/** The description with the price first (the search row shows one line of it). */
export function describeWithPrice(description, price) {
  const text = typeof description === "string" ? description : "";
  if (!price) return text;
  return t("kling3.search.description", "{price}, billed in US dollars by RunComfy. {description}",
    { price, description: text }).trim();
}

/**
 * The price in the node search for `nodeType`, from `pricing()` (the pricing route's table).
 *   loaded(defs)  the definitions ComfyUI loaded (addCustomNodeDefs, refreshComboInNodes hooks)
 *   apply(defs)   writes the price into the description (beforeRegisterVueAppNodeDefs hook); from
 *                 the original text on every call, so a second call never adds a second price
 *   refresh()     after new prices: `rebuild(defs)` (the frontend's app.updateVueAppNodeDefs,
 *                 which calls apply again) when the text shown is no longer right
 */
export function searchPrice(nodeType, pricing, rebuild) {
  const originals = new WeakMap();
  let loadedDefs = null;
  let shown = null;
  const priced = (def) => describeWithPrice(originals.get(def), searchPriceText(def, pricing()));
  return {
    loaded(defs) {
      loadedDefs = defs ?? null;
    },
    apply(defs) {
      for (const def of Object.values(defs ?? {})) {
        if (def?.name !== nodeType) continue;
        if (!originals.has(def)) originals.set(def, def.description);
        def.description = priced(def);
        shown = { def, text: def.description };
      }
    },
    refresh() {
      if (!loadedDefs || !shown || priced(shown.def) === shown.text) return false;
      rebuild(loadedDefs);
      return true;
    },
  };
}
