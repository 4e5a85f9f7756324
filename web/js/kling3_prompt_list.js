// The "Kling 3.0 Prompt List" node, live while the user types: how many prompts the list holds and
// what the whole batch is estimated to cost ("3 prompts · ≈ $2.52"), on a badge in the title bar
// (like the text-to-video node's price) and on one line under the text boxes, with what is missing
// or wrong ("the estimate needs a connected text-to-video node", "at most 20 prompts").
//
// The list is read by the server's rule (core/batch.py parse_prompts and check_prompts; the cases
// in web/tests/prompt_list_cases.json hold both sides to it). A job's price is the text-to-video
// node's own estimate (duration, sound; the shots do not change it); every text-to-video node the
// list's outputs reach runs once per prompt, as the server counts them (nodes/prompt_list_node.py
// batch_jobs). Inputs fed by a link count at their dearest (15 s with sound), as there.
//
// No ComfyUI imports: the graph is read through the node objects it is given, so node --test runs
// this module with plain objects (web/tests/kling3_prompt_list.test.mjs). The line is a DOM widget
// of a fixed height (two lines of text): its text changes while the user types, nothing around it moves.

import { costEstimate, formatUsd } from "./kling3_cost.js";
import { NODE_TYPES } from "./kling3_graph.js";
import { MAX_DURATION_S } from "./kling3_timeline.js";
import { badgeGetter } from "./kling3_badges.js";
import { t } from "./kling3_i18n.js";
import { addStyleOnce } from "./kling3_dom.js";

export const LIST_WIDGET = "runcomfy_kling3_list";
export const MAX_PROMPTS = 20;          // core/batch.py MAX_PROMPTS
export const MAX_PROMPT_CHARS = 2500;   // core/kling/request.py MAX_PROMPT_CHARS
const COMMENT = "#";
const MUTED_MODE = 2;     // LiteGraph's "never": left out of the queued prompt, and what follows it
const BYPASS_MODE = 4;    // left out, its inputs passed on
const MAX_NODES = 500;
const LINE_HEIGHT = 16;    // px of one line of text; the widget holds two, always (nothing moves)
const WIDGET_HEIGHT = 2 * LINE_HEIGHT + 6;
const BADGE_COLOR = "#1d6b52";
const WARN_COLOR = "#8a5a14";
const SEP = " \u00b7 ";

// Python's str.splitlines() breaks and str.strip() spaces (not JavaScript's \s and trim(): those
// leave \x1c-\x1f and \x85 alone and take U+FEFF, which Python keeps).
const LINE_BREAK = /\r\n|[\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029]/;
const PY_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

/** `text` without Python's whitespace at either end (all of them are single UTF-16 units). */
export function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.has(text.charCodeAt(start))) start += 1;
  while (end > start && PY_SPACE.has(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

/** One prompt per line; blank lines and lines starting with # are left out. */
export function parsePrompts(text) {
  if (typeof text !== "string") return [];
  return text.split(LINE_BREAK).map(pyStrip).filter((line) => line && !line.startsWith(COMMENT));
}

/** Characters as Python counts them (code points, not UTF-16 units). */
export function charCount(text) {
  return Array.from(text).length;
}

/**
 * What would stop the run before anything is sent, in the server's order: null, "empty",
 * "too_many", or {too_long: the prompt's number from 1, chars}.
 */
export function listProblem(prompts) {
  if (!prompts.length) return "empty";
  if (prompts.length > MAX_PROMPTS) return "too_many";
  for (let i = 0; i < prompts.length; i++) {
    const chars = charCount(pyStrip(prompts[i]));
    if (chars > MAX_PROMPT_CHARS) return { too_long: i + 1, chars };
  }
  return null;
}

// --- the graph -------------------------------------------------------------------------------

function typeOf(node) {
  return node?.comfyClass ?? node?.type;
}

function linkOf(graph, id) {
  return (graph?.getLink ? graph.getLink(id) : graph?.links?.[id]) ?? null;
}

/** The nodes linked from any of `node`'s outputs. */
export function linkedTargets(node) {
  const graph = node.graph;
  const targets = [];
  for (const output of node.outputs ?? []) {
    for (const id of output?.links ?? []) {
      const link = linkOf(graph, id);
      const target = link ? graph.getNodeById?.(link.target_id) : null;
      if (target) targets.push(target);
    }
  }
  return targets;
}

/**
 * The text-to-video nodes that run once per prompt: every one the list's outputs reach, through
 * any nodes (reroutes too), as the server walks the queued graph. A muted node and what follows
 * only from it are left out of the queue; a bypassed one is not run but passes its inputs on.
 * `partial`: a subgraph was reached (its inside is not read here).
 */
export function downstreamJobs(listNode, targets = linkedTargets) {
  const found = [];
  const seen = new Set([listNode]);
  const frontier = [listNode];
  let partial = false;
  while (frontier.length && seen.size < MAX_NODES) {
    for (const next of targets(frontier.shift())) {
      if (seen.has(next)) continue;
      seen.add(next);
      if (next.mode === MUTED_MODE) continue;
      if (next.subgraph || next.isSubgraphNode?.()) partial = true;
      if (typeOf(next) === NODE_TYPES.textToVideo && next.mode !== BYPASS_MODE) found.push(next);
      frontier.push(next);
    }
  }
  return { nodes: found, partial };
}

function inputLinked(node, name) {
  const input = node.inputs?.find((i) => i.name === name);
  return input?.link !== null && input?.link !== undefined;
}

/** A widget's value, or null when a link feeds that input. */
function widgetValue(node, name) {
  if (inputLinked(node, name)) return null;
  return node.widgets?.find((w) => w.name === name)?.value ?? null;
}

/** One text-to-video node's price per prompt: {usd, upTo (an input comes from a link: its dearest)}. */
export function jobEstimate(node, pricing) {
  const duration = Number(widgetValue(node, "duration"));
  const sound = widgetValue(node, "sound");
  const knownDuration = Number.isFinite(duration) && duration > 0;
  const knownSound = typeof sound === "boolean";
  const cost = costEstimate(knownDuration ? duration : MAX_DURATION_S, knownSound ? sound : true, pricing);
  return { usd: cost ? cost.usd : null, upTo: !knownDuration || !knownSound };
}

// --- what the node shows -----------------------------------------------------------------------

/**
 * The list as it stands: {count, problem, jobs (text-to-video nodes), perPrompt, usd, upTo, partial};
 * `text` null: the prompts come from a link (known only when the run starts).
 */
export function listModel(text, jobs, pricing) {
  if (text === null) return { linked: true, count: null, problem: null, jobs: 0, perPrompt: null, usd: null };
  const prompts = parsePrompts(text);
  const estimates = jobs.nodes.map((node) => jobEstimate(node, pricing)).filter((e) => e.usd !== null);
  const perPrompt = estimates.reduce((sum, e) => sum + e.usd, 0);
  return {
    count: prompts.length,
    problem: listProblem(prompts),
    jobs: estimates.length,
    perPrompt: estimates.length ? perPrompt : null,
    usd: estimates.length ? prompts.length * perPrompt : null,
    upTo: estimates.some((e) => e.upTo),
    partial: jobs.partial,
  };
}

function countText(count) {
  if (count === 0) return t("kling3.promptList.none", "No prompts");
  return count === 1 ? t("kling3.promptList.one", "1 prompt") : t("kling3.promptList.count", "{count} prompts", { count });
}

/** {badge, line, title, warn}: "3 prompts · ≈ $2.52" and the line under the text boxes. */
export function listTexts(model) {
  if (model.linked) {
    const line = t("kling3.promptList.fromLink", "The prompts come from a link: they are counted and checked when "
      + "the run starts.");
    return { badge: "", line, title: line, warn: false };
  }
  let badge = countText(model.count);
  if (model.usd !== null && model.count > 0) {
    badge += SEP + (model.upTo ? t("kling3.promptList.upTo", "\u2264 {usd}", { usd: formatUsd(model.usd) })
      : t("kling3.badge.price", "\u2248 {usd}", { usd: formatUsd(model.usd) }));
  }
  const problem = model.problem;
  let line;
  if (problem === "empty") {
    line = t("kling3.promptList.empty", "No prompts yet: one per line; lines starting with # are notes.");
  } else if (problem === "too_many") {
    line = badge + SEP + t("kling3.promptList.tooMany",
      "at most {max} make one batch: the run will stop before anything is sent", { max: MAX_PROMPTS });
  } else if (problem) {
    line = badge + SEP + t("kling3.promptList.tooLong",
      "prompt {index} has {chars} characters, at most {max}: the run will stop before anything is sent",
      { index: problem.too_long, chars: problem.chars, max: MAX_PROMPT_CHARS });
  } else if (model.usd === null) {
    line = badge + SEP + t("kling3.promptList.connect", "the estimate needs a connected text-to-video node");
  } else {
    const each = formatUsd(model.perPrompt);
    line = badge + SEP + (model.jobs === 1 ? t("kling3.promptList.perPrompt", "{each} per prompt", { each })
      : t("kling3.promptList.perPromptNodes", "{each} per prompt ({nodes} text-to-video nodes)",
        { each, nodes: model.jobs }));
    if (model.upTo) line += SEP + t("kling3.promptList.linked", "at most: duration or sound comes from a link");
  }
  if (model.partial) line += SEP + t("kling3.promptList.partial", "nodes inside a subgraph are not counted here");
  const title = model.usd === null ? line : `${line}\n${t("kling3.promptList.note",
    "An estimate by the current prices: RunComfy bills the actual runs; prompts already generated cost nothing.")}`;
  return { badge, line, title, warn: problem !== null && problem !== "empty" };
}

const STYLE = `
.rk3-list { font: 12px/${LINE_HEIGHT}px Inter, Arial, sans-serif; color: var(--fg-color, #ddd);
  padding: 2px 4px; box-sizing: border-box; height: ${WIDGET_HEIGHT}px; overflow: hidden; }
.rk3-list-line { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;
  overflow-wrap: anywhere; user-select: text; }
.rk3-list-line.rk3-list-warn { color: #f0b040; }
`;
/**
 * Put the badge and the line on a Prompt List node. `services.pricing()` gives the prices in use
 * (the pricing route's, as for the text-to-video node's badge).
 */
export function attachPromptList(node, services) {
  if (node.runcomfyKling3List) return node.runcomfyKling3List;
  addStyleOnce("promptList", STYLE);
  const element = document.createElement("div");
  element.className = "rk3-list";
  const line = document.createElement("div");
  line.className = "rk3-list-line";
  element.append(line);
  let shown = "";
  let texts = { badge: "", line: "", title: "", warn: false };

  const refresh = () => {
    const prompts = node.widgets?.find((w) => w.name === "prompts");
    const text = inputLinked(node, "prompts") ? null : prompts?.value ?? "";
    texts = listTexts(listModel(text, downstreamJobs(node), services.pricing()));
    const key = JSON.stringify(texts);
    if (key === shown) return texts;
    shown = key;
    line.textContent = texts.line;
    line.title = texts.title;
    line.classList.toggle("rk3-list-warn", texts.warn);
    node.setDirtyCanvas?.(true, false);   // the badge is drawn with the title bar
    return texts;
  };

  const widget = node.addDOMWidget(LIST_WIDGET, LIST_WIDGET, element, {
    serialize: false, hideOnZoom: false,
    getValue: () => undefined, setValue: () => {},
    getMinHeight: () => WIDGET_HEIGHT, getMaxHeight: () => WIDGET_HEIGHT,
  });
  widget.serialize = false;

  // typing: ComfyUI calls the widget's callback on every input event of its text box
  const prompts = node.widgets?.find((w) => w.name === "prompts");
  if (prompts) {
    const callback = prompts.callback;
    prompts.callback = function (...args) {
      const result = callback?.apply(this, args);
      refresh();
      return result;
    };
    prompts.element?.addEventListener?.("input", refresh);
  }
  const onConnectionsChange = node.onConnectionsChange;
  node.onConnectionsChange = function (...args) {
    const result = onConnectionsChange?.apply(this, args);
    refresh();
    return result;
  };
  // drawn with every frame of the title bar: it also follows the text-to-video nodes' duration and sound
  if (Array.isArray(node.badges)) {
    node.runcomfyKling3ListBadge = badgeGetter(() => {
      const now = refresh();
      return { text: now.badge, bgColor: now.warn ? WARN_COLOR : BADGE_COLOR };
    });
    node.badges.push(node.runcomfyKling3ListBadge);
  }
  node.runcomfyKling3List = { refresh, element, line, widget, texts: () => texts };
  refresh();
  return node.runcomfyKling3List;
}
