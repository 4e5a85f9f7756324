// The multi-shot timeline: the shots of a video as blocks against its duration, with what the
// API would refuse (a shot's length, an empty or long prompt, shots that do not add up).
// No ComfyUI imports, no DOM: `node --test web/tests/` runs it as is.

import { t } from "./kling3_i18n.js";

export const MIN_DURATION_S = 3;
export const MAX_DURATION_S = 15;
export const MAX_SEGMENT_PROMPT_CHARS = 512;

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
