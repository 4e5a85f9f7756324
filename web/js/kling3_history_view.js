// The history panel's DOM: totals against the budgets, then the ledger's lines newest first, each
// with its actions. It only draws what it is given and calls the handlers it was given; loading,
// events and the actions themselves are in kling3_history.js.
//
// Lines are keyed by their ledger id and redrawn only when what they show changed, so a refresh
// (another tab finished a job, the window got focus) never cuts a playing video or a half-typed
// request id.

import {
  costText, lineActions, lineSignature, lineTime, settingsText, stateKind, stateLabel, totalsRows,
} from "./kling3_history_logic.js";
import { t } from "./kling3_i18n.js";
import { addStyleOnce, el } from "./kling3_dom.js";

// Every user-visible string of this file: getters through t(), read when the text is shown.
export const UI = Object.freeze({
  get heading() { return t("kling3.spending.heading", "Kling 3.0 spending"); },
  get refresh() { return t("kling3.spending.refresh", "Refresh"); },
  keep: (days) => t("kling3.spending.keep", "Finished records are kept {days} days; this and last month's cost "
    + "lines always. Budgets: Settings \u203a RunComfy.", { days }),
  get empty() { return t("kling3.spending.empty", "No paid jobs yet. Every submitted generation appears here."); },
  get loading() { return t("kling3.spending.loading", "Loading\u2026"); },
  get loadOlder() { return t("kling3.spending.loadOlder", "Load older"); },
  get copy() { return t("kling3.spending.copy", "Copy id"); },
  get addNode() { return t("kling3.spending.addNode", "Add Fetch Result node"); },
  get play() { return t("kling3.spending.play", "Play"); },
  get hideVideo() { return t("kling3.spending.hideVideo", "Hide video"); },
  get resolve() { return t("kling3.spending.resolve", "Resolve\u2026"); },
  get resolveHint() {
    return t("kling3.spending.resolveHint", "The submit got no answer: look for this job in your RunComfy request "
      + "history. Found it: paste its request id (the next run re-attaches to it). Not there: it was never created "
      + "(its estimate stops counting, and the next run with these inputs pays again).");
  },
  get resolvePlaceholder() {
    return t("kling3.spending.resolvePlaceholder", "Request id from the RunComfy history");
  },
  get found() { return t("kling3.spending.found", "Use this request id"); },
  get neverCreated() { return t("kling3.spending.neverCreated", "Never created"); },
  get noRequestId() { return t("kling3.spending.noRequestId", "no request id"); },
});

const STYLE = `
.rk3h { box-sizing: border-box; height: 100%; overflow-y: auto; padding: 8px 10px 12px;
  font: 12px/1.45 var(--font-inter, sans-serif); color: var(--fg-color, #ddd); }
.rk3h-head { display: flex; align-items: center; justify-content: space-between; margin-bottom: 6px; }
.rk3h-title { font-size: 13px; font-weight: 600; }
.rk3h button { font: inherit; font-size: 11px; padding: 2px 8px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color, #444); background: var(--comfy-menu-secondary-bg, #2a2a2a);
  color: var(--fg-color, #ddd); }
.rk3h button:hover { background: var(--comfy-input-bg, #333); }
.rk3h button:disabled { opacity: .5; cursor: default; }
.rk3h-muted { color: var(--descrip-text, #999); font-size: 11px; }
.rk3h-totals { display: grid; gap: 6px; padding: 8px; margin-bottom: 4px; border-radius: 8px;
  background: var(--comfy-menu-secondary-bg, #222); border: 1px solid var(--border-color, #444); }
.rk3h-total-label { font-weight: 600; margin-right: 6px; }
.rk3h-bar { height: 4px; border-radius: 2px; background: var(--border-color, #444); overflow: hidden; margin-top: 3px; }
.rk3h-bar > div { height: 100%; background: #2fb38a; }
.rk3h-bar.near > div { background: #e0a030; } .rk3h-bar.full > div { background: #e0564f; }
.rk3h-note-full { color: #e0564f; font-size: 11px; }
.rk3h-error { color: var(--error-text, #e0564f); font-size: 11px; margin: 4px 0; }
.rk3h-error:empty { display: none; }
.rk3h-list { list-style: none; margin: 8px 0 0; padding: 0; display: grid; gap: 6px; }
.rk3h-line { padding: 6px 8px; border-radius: 8px; border: 1px solid var(--border-color, #444);
  background: var(--comfy-menu-bg, #1e1e1e); display: grid; gap: 2px; }
.rk3h-top { display: flex; justify-content: space-between; gap: 6px; align-items: center; }
.rk3h-state { font-size: 10px; padding: 0 6px; border-radius: 9px; border: 1px solid currentColor; white-space: nowrap; }
.rk3h-state.ok { color: #2fb38a; } .rk3h-state.bad { color: #e0564f; } .rk3h-state.warn { color: #e0a030; }
.rk3h-state.run { color: #4a9fe8; } .rk3h-state.muted { color: var(--descrip-text, #999); }
.rk3h-prompt { overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  word-break: break-word; }
.rk3h-id { font-family: monospace; font-size: 10px; color: var(--descrip-text, #999); word-break: break-all; }
.rk3h-err { color: var(--error-text, #e0564f); font-size: 11px; word-break: break-word; }
.rk3h-actions { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 3px; }
.rk3h-extra:empty { display: none; }
.rk3h-extra video { width: 100%; max-height: 260px; margin-top: 4px; border-radius: 6px; background: #000; }
.rk3h-resolve { display: grid; gap: 4px; margin-top: 4px; }
.rk3h-resolve input { font: inherit; font-size: 11px; font-family: monospace; padding: 3px 6px; border-radius: 6px;
  border: 1px solid var(--border-color, #444); background: var(--comfy-input-bg, #222); color: var(--input-text, #ddd); }
.rk3h-more { margin-top: 8px; width: 100%; }
`;


function button(text, className, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/**
 * A panel inside `container`. `handlers`: refresh(), loadOlder(), copy(line), addNode(line),
 * videoUrl(line), resolve(line, requestId | null) -> Promise.
 */
export function createHistoryView(container, handlers) {
  addStyleOnce("history", STYLE);
  const root = el("div", "rk3h");
  const head = el("div", "rk3h-head");
  head.append(el("span", "rk3h-title", UI.heading), button(UI.refresh, "rk3h-refresh", () => handlers.refresh()));
  const totals = el("div", "rk3h-totals");
  totals.append(el("div", "rk3h-muted", UI.loading));
  const keep = el("div", "rk3h-muted rk3h-keep");
  const error = el("div", "rk3h-error");
  const list = el("ul", "rk3h-list");
  const empty = el("div", "rk3h-muted rk3h-empty", UI.empty);
  empty.hidden = true;
  const more = button(UI.loadOlder, "rk3h-more", () => handlers.loadOlder());
  more.hidden = true;
  root.append(head, totals, keep, error, empty, list, more);
  container.replaceChildren(root);
  const cards = new Map();   // ledger id -> {item, signature, extra}

  function drawTotals(answer) {
    totals.replaceChildren();
    for (const row of totalsRows(answer)) {
      const block = el("div", "rk3h-total");
      const line = el("div");
      line.append(el("span", "rk3h-total-label", row.label), el("span", "rk3h-total-text", row.text));
      block.append(line);
      if (row.fraction !== null) {
        const bar = el("div", `rk3h-bar ${row.level}`);
        const fill = el("div");
        fill.style.width = `${Math.round(row.fraction * 100)}%`;
        bar.append(fill);
        block.append(bar);
      }
      if (row.note) block.append(el("div", "rk3h-note-full", row.note));
      totals.append(block);
    }
  }

  function fillCard(card, line, nowMs) {
    const { item, extra } = card;
    const actions = lineActions(line);
    item.dataset.state = line.state;
    item.dataset.requestId = line.request_id ?? "";
    const top = el("div", "rk3h-top");
    top.append(el("span", "rk3h-time rk3h-muted", lineTime(line.created_at, nowMs)),
      el("span", `rk3h-state ${stateKind(line.state)}`, stateLabel(line.state)));
    const parts = [top, el("div", "rk3h-prompt", line.prompt || "\u2014"),
      el("div", "rk3h-settings rk3h-muted", settingsText(line)), el("div", "rk3h-cost", costText(line)),
      el("div", "rk3h-id", line.request_id || UI.noRequestId)];
    if (line.error) parts.push(el("div", "rk3h-err", line.error));
    const row = el("div", "rk3h-actions");
    if (actions.copy) row.append(button(UI.copy, "rk3h-copy", () => handlers.copy(line)));
    if (actions.addNode) row.append(button(UI.addNode, "rk3h-add", () => handlers.addNode(line)));
    if (actions.play) {
      row.append(button(extra.querySelector("video") ? UI.hideVideo : UI.play, "rk3h-play",
        (event) => togglePlayer(card, line, event.currentTarget)));
    }
    if (actions.resolve) row.append(button(UI.resolve, "rk3h-resolve-open", () => toggleResolve(card, line)));
    if (row.childElementCount) parts.push(row);
    // What is open below the line stays only while the line still offers it.
    if (!actions.play) extra.querySelector("video")?.remove();
    if (!actions.resolve) extra.querySelector(".rk3h-resolve")?.remove();
    item.replaceChildren(...parts, extra);
  }

  function togglePlayer(card, line, toggle) {
    const open = card.extra.querySelector("video");
    if (open) {
      open.pause();
      open.remove();
      toggle.textContent = UI.play;
      return;
    }
    const video = el("video", "rk3h-video");
    Object.assign(video, { controls: true, preload: "auto", playsInline: true, src: handlers.videoUrl(line) });
    card.extra.append(video);
    toggle.textContent = UI.hideVideo;
    video.play().catch(() => {});   // a browser that refuses to autoplay still shows the controls
  }

  function toggleResolve(card, line) {
    const open = card.extra.querySelector(".rk3h-resolve");
    if (open) {
      open.remove();
      return;
    }
    const box = el("div", "rk3h-resolve");
    const input = el("input");
    Object.assign(input, { type: "text", placeholder: UI.resolvePlaceholder, spellcheck: false, autocomplete: "off" });
    input.addEventListener("keydown", (event) => event.stopPropagation());  // no ComfyUI shortcuts while typing
    const result = el("div", "rk3h-error");
    input.addEventListener("input", () => { result.textContent = ""; });
    const run = (requestId) => async () => {
      for (const b of box.querySelectorAll("button")) b.disabled = true;
      try {
        await handlers.resolve(line, requestId === undefined ? input.value.trim() : requestId);
      } catch (failure) {
        result.textContent = failure?.message || String(failure);
      } finally {
        for (const b of box.querySelectorAll("button")) b.disabled = false;
      }
    };
    const row = el("div", "rk3h-actions");
    row.append(button(UI.found, "rk3h-found", run(undefined)), button(UI.neverCreated, "rk3h-never", run(null)));
    box.append(el("div", "rk3h-muted", UI.resolveHint), input, row, result);
    card.extra.append(box);
    input.focus();
  }

  return {
    root,
    /** Draw a history answer: `lines` newest first, `hasMore` whether older lines exist. */
    show(answer, lines, hasMore, nowMs = Date.now()) {
      error.textContent = "";
      drawTotals(answer);
      keep.textContent = UI.keep(answer?.keep_days ?? 90);
      empty.hidden = lines.length > 0;
      more.hidden = !hasMore;
      const wanted = new Set(lines.map((line) => line.id));
      for (const [id, card] of cards) {
        if (!wanted.has(id)) {
          card.item.remove();
          cards.delete(id);
        }
      }
      let previous = null;
      for (const line of lines) {
        let card = cards.get(line.id);
        if (!card) {
          card = { item: el("li", "rk3h-line"), extra: el("div", "rk3h-extra"), signature: null };
          card.item.dataset.id = String(line.id);
          cards.set(line.id, card);
        }
        const signature = lineSignature(line) + lineTime(line.created_at, nowMs);
        if (card.signature !== signature) {
          fillCard(card, line, nowMs);
          card.signature = signature;
        }
        const place = previous ? previous.nextSibling : list.firstChild;
        if (place !== card.item) list.insertBefore(card.item, place);
        previous = card.item;
      }
    },
    showError(message) {
      error.textContent = message;
    },
  };
}
