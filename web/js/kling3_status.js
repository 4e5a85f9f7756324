// The status line of a run on the text-to-video node: the status event's phases, the text for
// each (same rules as nodes/status_events.py: status_text; web/tests/status_text_cases.json holds
// both sides to it), the live clock between events, the progress bar's fraction, the typical time.
// No ComfyUI imports, no DOM: `node --test web/tests/` runs it as is. ComfyUI also loads every
// .js file of the web folder as an extension module; this one only exports, so that is harmless.
// Texts go through t() (kling3_i18n.js, also import-free): English here, other languages in locales/.

import { t } from "./kling3_i18n.js";

export const EVENT = "runcomfy.kling3.status";
export const PHASES = Object.freeze(["validating", "waiting", "submitting", "queued", "generating", "downloading",
  "decoding", "done", "failed", "cancelled", "interrupted"]);
export const TERMINAL_PHASES = new Set(["done", "failed", "cancelled", "interrupted"]);
export const TICKING_PHASES = new Set(["submitting", "queued", "generating"]);
const SHORT_ID_CHARS = 8;
const MAX_MESSAGE_CHARS = 300;
const SEP = " \u00b7 ";

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
