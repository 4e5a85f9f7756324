// Pure logic of the Kling 3.0 extension: status text, ETA, cost, multi-shot timeline, graph walks.
// No ComfyUI imports, no DOM: `node --test web/tests/` runs it as is. ComfyUI also loads every
// .js file of the web folder as an extension module; this one only exports, so that is harmless.
// Texts go through t() (kling3_i18n.js, also import-free): English here, other languages in locales/.

import { t } from "./kling3_i18n.js";

export const EVENT = "runcomfy.kling3.status";
export const NODE_TYPES = Object.freeze({
  prompt: "RunComfyKling3Prompt",
  segment: "RunComfyKling3MultiPromptSegment",
  textToVideo: "RunComfyKling3TextToVideo",
  promptList: "RunComfyKling3PromptList",
});
export const PHASES = Object.freeze(["validating", "waiting", "submitting", "queued", "generating", "downloading",
  "decoding", "done", "failed", "cancelled", "interrupted"]);
export const TERMINAL_PHASES = new Set(["done", "failed", "cancelled", "interrupted"]);
export const TICKING_PHASES = new Set(["submitting", "queued", "generating"]);
export const MIN_DURATION_S = 3;
export const MAX_DURATION_S = 15;
export const MAX_SEGMENT_PROMPT_CHARS = 512;
export const DEFAULT_PRICING = Object.freeze({
  per_second_usd: 0.112, per_second_with_sound_usd: 0.168, source: "default",
});
const SHORT_ID_CHARS = 8;
const MAX_MESSAGE_CHARS = 300;
const SEP = " \u00b7 ";

// --- status text (same rules as nodes/status_events.py: status_text) ---------------------------

/** "m:ss", or "h:mm:ss" from one hour on; whole seconds, rounded down. */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

export function shortId(requestId) {
  const id = String(requestId);
  return id.length <= SHORT_ID_CHARS ? id : `${id.slice(0, SHORT_ID_CHARS)}\u2026`;
}

function cleanText(value) {
  return value === null || value === undefined || value === "" ? null : String(value);
}

function cleanMessage(value) {
  const text = cleanText(value);
  if (text === null) return null;
  const flat = text.split(/\s+/).filter(Boolean).join(" ");
  return flat.length <= MAX_MESSAGE_CHARS ? flat : `${flat.slice(0, MAX_MESSAGE_CHARS - 1)}\u2026`;
}

function cleanInt(value) {
  if (value === null || value === undefined || typeof value === "boolean") return null;
  const number = Number(value);
  return Number.isFinite(number) ? Math.trunc(number) : null;
}

function cleanSeconds(value) {
  if (value === null || value === undefined || value === "" || typeof value === "boolean") return null;
  const number = Number(value);
  return Number.isFinite(number) ? Math.max(0, number) : null;
}

function cleanPercent(value) {
  if (value === null || value === undefined || value === "" || typeof value === "boolean") return null;
  const number = Number(value);
  return Number.isFinite(number) ? Math.floor(Math.min(100, Math.max(0, number))) : null;
}

/** One line for the node, e.g. "Generating · 0:42 elapsed · ~1:10 left". */
export function statusText(phase, values = {}) {
  const requestId = cleanText(values.request_id);
  const message = cleanMessage(values.message);
  const position = cleanInt(values.queue_position);
  const percent = cleanPercent(values.percent);
  const elapsed = cleanSeconds(values.elapsed_s);
  const eta = cleanSeconds(values.eta_s);
  let parts;
  switch (phase) {
    case "validating":
      parts = [t("kling3.status.validating", "Checking inputs")];
      break;
    case "waiting":
      parts = [position ? t("kling3.status.waitingAhead", "Waiting for a slot ({position} ahead)", { position })
        : t("kling3.status.waiting", "Waiting for a slot")];
      break;
    case "submitting":
      parts = [t("kling3.status.submitting", "Submitting")];
      break;
    case "queued":
      parts = [position !== null ? t("kling3.status.queuedAt", "Queued (position {position})", { position })
        : t("kling3.status.queued", "Queued")];
      if (elapsed !== null) parts.push(t("kling3.status.elapsed", "{time} elapsed", { time: clock(elapsed) }));
      if (requestId) parts.push(t("kling3.status.requestShort", "req {id}", { id: shortId(requestId) }));
      break;
    case "generating":
      parts = [t("kling3.status.generating", "Generating")];
      if (elapsed !== null) parts.push(t("kling3.status.elapsed", "{time} elapsed", { time: clock(elapsed) }));
      // past the typical time: "almost done", until the run leaves the normal spread (overdue)
      if (eta !== null) {
        parts.push(eta >= 1 ? t("kling3.status.left", "~{time} left", { time: clock(eta) })
          : values.overdue ? t("kling3.status.overdue", "taking longer than usual")
            : t("kling3.status.almostDone", "almost done"));
      }
      break;
    case "downloading":
    case "decoding":
      parts = [(phase === "downloading" ? t("kling3.status.downloading", "Downloading")
        : t("kling3.status.decoding", "Decoding")) + (percent !== null ? ` ${percent}%` : "")];
      break;
    case "done":
      parts = [elapsed !== null ? t("kling3.status.doneIn", "Done in {time}", { time: clock(elapsed) })
        : t("kling3.status.done", "Done")];
      break;
    case "failed":
      parts = [message ? t("kling3.status.failedWith", "Failed: {message}", { message })
        : t("kling3.status.failed", "Failed")];
      if (requestId && !(message || "").includes(requestId)) {
        parts.push(t("kling3.status.requestId", "request id {id}", { id: requestId }));
      }
      break;
    case "cancelled":
    case "interrupted":
      parts = [message || (phase === "cancelled" ? t("kling3.status.cancelled", "Cancelled")
        : t("kling3.status.interrupted", "Interrupted"))];
      if (requestId && !(message || "").includes(requestId)) {
        parts.push(t("kling3.status.requestId", "request id {id}", { id: requestId }));
      }
      break;
    default:
      parts = [message || String(phase)];
  }
  return parts.join(SEP);
}

/**
 * The status as it is now, `nowMs - receivedAtMs` after the event arrived: the elapsed clock
 * runs on and the time left runs down between events (the server sends about one a second,
 * but a busy server or a slow poll can leave gaps). Terminal and percent phases stay as sent.
 */
export function liveStatus(payload, receivedAtMs, nowMs, { frozen = false } = {}) {
  const status = { ...payload };
  const ticking = !frozen && TICKING_PHASES.has(status.phase);
  const dt = ticking ? Math.max(0, (nowMs - receivedAtMs) / 1000) : 0;
  const elapsed = cleanSeconds(status.elapsed_s);
  const eta = cleanSeconds(status.eta_s);
  if (elapsed !== null) status.elapsed_s = elapsed + dt;
  if (eta !== null) status.eta_s = Math.max(0, eta - dt);
  status.text = statusText(status.phase, status);
  status.fraction = progressFraction(status);
  status.terminal = TERMINAL_PHASES.has(status.phase);
  return status;
}

/**
 * 0..1 for a progress bar, or null when nothing meaningful can be drawn. The server's
 * `progress` (the figure ComfyUI's own progress bar shows, the whole job) comes first.
 */
export function progressFraction(status) {
  const overall = Number(status.progress);
  if (status.progress !== null && status.progress !== undefined && typeof status.progress !== "boolean"
      && Number.isFinite(overall) && !TERMINAL_PHASES.has(status.phase)) {
    return Math.min(1, Math.max(0, overall));
  }
  if (status.phase === "downloading" || status.phase === "decoding") {
    const percent = cleanPercent(status.percent);
    return percent === null ? null : percent / 100;
  }
  if (status.phase === "generating") {
    const elapsed = cleanSeconds(status.elapsed_s);
    const eta = cleanSeconds(status.eta_s);
    if (elapsed === null || eta === null || elapsed + eta <= 0) return null;
    return Math.min(0.99, elapsed / (elapsed + eta));
  }
  if (status.phase === "done") return 1;
  return null;
}

/** "usually ~1:50" from the learnt typical generating time, or "" without history. */
export function typicalTimeText(etaSeconds) {
  const eta = cleanSeconds(etaSeconds);
  return eta === null || eta < 1 ? "" : t("kling3.status.typical", "usually ~{time}", { time: clock(eta) });
}

// --- cost --------------------------------------------------------------------------------------

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

// --- multi-shot timeline -----------------------------------------------------------------------

/**
 * Blocks of a multi-shot video, in order, against the video's `duration`.
 * segments: [{prompt, duration}] (duration null when unknown, e.g. fed by a link).
 * The scale is the longer of `duration` and the shots' sum, so an overflow stays visible.
 */
export function buildTimeline(segments, duration) {
  const target = Number.isFinite(Number(duration)) ? Number(duration) : null;
  const known = segments.every((s) => Number.isFinite(s.duration));
  const total = segments.reduce((sum, s) => sum + (Number.isFinite(s.duration) ? s.duration : 0), 0);
  const scale = Math.max(target ?? 0, total) || 1;
  let start = 0;
  const blocks = segments.map((segment, index) => {
    const length = Number.isFinite(segment.duration) ? segment.duration : 0;
    const block = {
      index: index + 1, prompt: segment.prompt ?? "", duration: segment.duration, start,
      startFraction: start / scale, widthFraction: length / scale,
      overflow: target !== null && start + length > target,
    };
    start += length;
    return block;
  });
  const problems = [];
  segments.forEach((segment, index) => {
    const label = t("kling3.timeline.shot", "Shot {index}", { index: index + 1 });
    if (Number.isFinite(segment.duration)
        && (segment.duration < MIN_DURATION_S || segment.duration > MAX_DURATION_S)) {
      problems.push(t("kling3.timeline.badDuration", "{shot}: duration must be {min} to {max} s (got {seconds})",
        { shot: label, min: MIN_DURATION_S, max: MAX_DURATION_S, seconds: segment.duration }));
    }
    if (typeof segment.prompt === "string" && !segment.prompt.trim()) {
      problems.push(t("kling3.timeline.noPrompt", "{shot} has no prompt", { shot: label }));
    }
    if (typeof segment.prompt === "string" && segment.prompt.trim().length > MAX_SEGMENT_PROMPT_CHARS) {
      problems.push(t("kling3.timeline.longPrompt", "{shot}: prompt is longer than {max} characters",
        { shot: label, max: MAX_SEGMENT_PROMPT_CHARS }));
    }
  });
  let status;
  let warning = "";
  if (!segments.length) status = "none";
  else if (!known || target === null) status = "unknown";
  else if (total === target) status = "ok";
  else {
    status = "mismatch";
    const diff = total - target;
    const values = { total, target, diff: Math.abs(diff) };
    warning = diff > 0
      ? t("kling3.timeline.tooLong", "Shots add up to {total} s but duration is {target} s ({diff} s too long): "
        + "the run will stop before anything is sent", values)
      : t("kling3.timeline.tooShort", "Shots add up to {total} s but duration is {target} s ({diff} s short): "
        + "the run will stop before anything is sent", values);
  }
  return { blocks, total, target, scale, status, warning, problems, targetFraction: target === null ? null : target / scale };
}

// --- graph walks (plain callbacks, so they run on fake graphs in tests) ------------------------

/**
 * The shots feeding `node`'s `inputName`, upstream first, by following each segment's
 * `previous` input. `upstream(node, inputName)` gives the node linked to that input (or null);
 * `readSegment(node)` gives {prompt, duration}, {skip: true} for a bypassed segment (ComfyUI
 * passes its `previous` through), or null when the node is not a segment.
 * Returns {segments, linked, complete}: complete is false when the chain ends in something
 * else (a subgraph input, another node type, a loop).
 */
export function collectSegments(node, inputName, upstream, readSegment, maxShots = 50) {
  const reversed = [];
  const seen = new Set();
  let current = upstream(node, inputName);
  const linked = !!current;
  let complete = true;
  while (current) {
    if (seen.has(current) || seen.size >= maxShots) { complete = false; break; }
    seen.add(current);
    const segment = readSegment(current);
    if (!segment) { complete = false; break; }
    if (!segment.skip) reversed.push({ prompt: segment.prompt, duration: segment.duration });
    current = upstream(current, "previous");
  }
  return { segments: reversed.reverse(), linked, complete };
}

/**
 * The node a status event names: ComfyUI's execution id is the node id in the root graph, or
 * "outer:inner:..." through subgraph nodes. `getNode(graph, id)` and `subgraphOf(node)` are
 * the small graph accessors.
 */
export function resolveExecutionId(rootGraph, executionId, getNode, subgraphOf) {
  if (!rootGraph || executionId === null || executionId === undefined) return null;
  const path = String(executionId).split(":");
  let graph = rootGraph;
  let node = null;
  for (let i = 0; i < path.length; i++) {
    node = getNode(graph, path[i]);
    if (!node) return null;
    if (i < path.length - 1) {
      graph = subgraphOf(node);
      if (!graph) return null;
    }
  }
  return node;
}

// --- token settings ----------------------------------------------------------------------------

// Functions, not strings: the language is read when the text is shown.
const SOURCE_LABELS = {
  settings: () => t("kling3.token.sourceSettings", "saved in these settings"),
  RUNCOMFY_API_TOKEN: () => t("kling3.token.sourceEnv", "from the environment variable {name}",
    { name: "RUNCOMFY_API_TOKEN" }),
  RUNCOMFY_TOKEN: () => t("kling3.token.sourceEnv", "from the environment variable {name}", { name: "RUNCOMFY_TOKEN" }),
};

/** What the settings entry says about the token in use (from GET /runcomfy/kling3/token). */
export function tokenStatusText(status) {
  if (!status || !status.configured) {
    return t("kling3.token.none",
      "No token set. Paste your RunComfy API key here, or set RUNCOMFY_API_TOKEN before starting ComfyUI.");
  }
  const source = Object.hasOwn(SOURCE_LABELS, status.source ?? "") ? SOURCE_LABELS[status.source]() : String(status.source);
  let text = t("kling3.token.inUse", "In use: {masked} ({source}).", { masked: status.masked, source });
  const overridden = (status.overridden ?? [])
    .map((s) => (s === "settings" ? t("kling3.token.savedToken", "the saved token") : s));
  if (overridden.length) {
    text += " " + t("kling3.token.alsoSet", "Also set but not used: {names}.", { names: overridden.join(", ") });
  }
  return text;
}

const CHECK_LABELS = {
  valid: () => t("kling3.token.valid", "Valid"),
  invalid: () => t("kling3.token.invalid", "Invalid"),
  unreachable: () => t("kling3.token.unreachable", "Could not check"),
};

export function tokenCheckText(result) {
  if (!result || !Object.hasOwn(CHECK_LABELS, result.result ?? "")) return t("kling3.token.unexpected", "Could not check: unexpected answer");
  const detail = withoutRepeatedCodes(result.detail);
  const label = CHECK_LABELS[result.result]();
  return detail ? t("kling3.token.checked", "{result}: {detail}", { result: label, detail }) : label;
}

/** "Unauthorized (HTTP 401): ... (401)" -> the code once: a "(...)" that only repeats a code is dropped. */
export function withoutRepeatedCodes(text) {
  if (!text) return "";
  const seen = new Set();
  return String(text).replace(/\s*\((?:HTTP |code |error )?(\d{3})\)|\b(\d{3})\b/gi, (whole, inParens, bare) => {
    const code = inParens ?? bare;
    if (inParens && seen.has(code)) return "";
    seen.add(code);
    return whole;
  }).trim();
}
