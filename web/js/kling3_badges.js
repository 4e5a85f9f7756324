// Badges on the nodes' title bars, where ComfyUI shows the price of its own API nodes:
//  * the text-to-video node: the estimated price in US dollars (RunComfy bills in dollars, not
//    Comfy credits), following duration, sound and the shots; visible when the node is collapsed;
//  * a multi-shot segment node: its number in the chain and its current length ("Shot 2 · 4 s"),
//    so no title has to say it (a title would go stale when the duration changes).
// The texts are pure functions (tested with node --test); the badge objects are LiteGraph's own
// LGraphBadge, which the frontend puts on window.

import { formatUsd } from "./kling3_logic.js";
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
