// The extension's pure logic: status text, live clock, ETA (kling3_status.js), cost (kling3_cost.js),
// timeline (kling3_timeline.js), graph walks (kling3_graph.js), the token entry's texts (kling3_token_text.js).
// Run: node --test web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { costEstimate, DEFAULT_PRICING } from "../js/kling3_cost.js";
import { collectSegments, resolveExecutionId } from "../js/kling3_graph.js";
import { clock, liveStatus, progressFraction, shortId, statusText, typicalTimeText } from "../js/kling3_status.js";
import { buildTimeline } from "../js/kling3_timeline.js";
import { tokenCheckText, tokenStatusText } from "../js/kling3_token_text.js";

const cases = JSON.parse(readFileSync(new URL("./status_text_cases.json", import.meta.url), "utf8")).cases;

// --- status text -----------------------------------------------------------------------------

test("status text matches the shared cases (the Python side checks the same file)", () => {
  assert.ok(cases.length >= 20);
  for (const { phase, values, text } of cases) {
    assert.equal(statusText(phase, values), text, `${phase} ${JSON.stringify(values)}`);
  }
});

test("clock shows m:ss, then h:mm:ss, rounding down", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(59.99), "0:59");
  assert.equal(clock(60), "1:00");
  assert.equal(clock(3599), "59:59");
  assert.equal(clock(3600), "1:00:00");
  assert.equal(clock(-3), "0:00");
});

test("short request ids keep 8 characters and mark the cut", () => {
  assert.equal(shortId("12345678"), "12345678");
  assert.equal(shortId("123456789"), "12345678\u2026");
});

test("a failure names the request id once, so the paid result can be recovered", () => {
  const text = statusText("failed", { message: "Download failed", request_id: "req-42" });
  assert.match(text, /req-42/);
  assert.equal(text.split("req-42").length, 2);
});

// --- live status -----------------------------------------------------------------------------

test("between events the elapsed clock runs on and the time left runs down", () => {
  const payload = { node: "7", phase: "generating", elapsed_s: 42, eta_s: 70 };
  const at = 1_000_000;
  assert.equal(liveStatus(payload, at, at).text, "Generating · 0:42 elapsed · ~1:10 left");
  assert.equal(liveStatus(payload, at, at + 10_500).text, "Generating · 0:52 elapsed · ~0:59 left");
  // past the typical time it is "almost done"; only the server says when a run is late
  assert.equal(liveStatus(payload, at, at + 90_000).text, "Generating · 2:12 elapsed · almost done");
  assert.equal(liveStatus({ ...payload, overdue: true }, at, at + 90_000).text,
    "Generating · 2:12 elapsed · taking longer than usual");
  assert.equal(payload.elapsed_s, 42, "the received payload is not modified");
});

test("the bar follows the server's progress of the whole job, not elapsed over elapsed plus eta", () => {
  const at = 1_000;
  const generating = { phase: "generating", elapsed_s: 30, eta_s: 90, progress: 0.05 };
  assert.equal(liveStatus(generating, at, at).fraction, 0.05);
  assert.equal(liveStatus({ ...generating, progress: null }, at, at).fraction, 0.25);
  assert.equal(liveStatus({ phase: "done", progress: 1 }, at, at).fraction, 1);
});

test("a queued job's clock ticks too; downloads, decodes and finished states do not", () => {
  const at = 5_000;
  assert.equal(liveStatus({ phase: "queued", queue_position: 2, elapsed_s: 3, request_id: "abc" }, at, at + 4000).text,
    "Queued (position 2) · 0:07 elapsed · req abc");
  assert.equal(liveStatus({ phase: "downloading", percent: 45, elapsed_s: 80 }, at, at + 60_000).text, "Downloading 45%");
  assert.equal(liveStatus({ phase: "done", elapsed_s: 112 }, at, at + 60_000).text, "Done in 1:52");
});

test("a frozen status (the prompt ended without a final event) stops its clock", () => {
  const status = liveStatus({ phase: "generating", elapsed_s: 10, eta_s: 50 }, 0, 30_000, { frozen: true });
  assert.equal(status.text, "Generating · 0:10 elapsed · ~0:50 left");
});

test("several nodes keep their own status", () => {
  const a = liveStatus({ node: "3", phase: "queued", queue_position: 1 }, 0, 0);
  const b = liveStatus({ node: "9", phase: "decoding", percent: 20 }, 0, 0);
  assert.equal(a.text, "Queued (position 1)");
  assert.equal(b.text, "Decoding 20%");
});

test("progress fraction: percent phases, generating against the estimate, none otherwise", () => {
  assert.equal(progressFraction({ phase: "downloading", percent: 45 }), 0.45);
  assert.equal(progressFraction({ phase: "decoding", percent: 100 }), 1);
  assert.equal(progressFraction({ phase: "generating", elapsed_s: 30, eta_s: 90 }), 0.25);
  assert.equal(progressFraction({ phase: "generating", elapsed_s: 30, eta_s: 0 }), 0.99);
  assert.equal(progressFraction({ phase: "generating", elapsed_s: 30 }), null);
  assert.equal(progressFraction({ phase: "queued", queue_position: 3 }), null);
  assert.equal(progressFraction({ phase: "done" }), 1);
});

test("typical time text comes from the learnt estimate, and is empty without history", () => {
  assert.equal(typicalTimeText(110.4), "usually ~1:50");
  assert.equal(typicalTimeText(null), "");
  assert.equal(typicalTimeText(undefined), "");
});

// --- cost ------------------------------------------------------------------------------------

test("cost = duration × the per-second rate, with sound dearer, labelled as an estimate", () => {
  const withSound = costEstimate(5, true);
  assert.ok(Math.abs(withSound.usd - 0.84) < 1e-9);
  assert.equal(withSound.text, "Estimated cost \u2248 $0.84");
  assert.equal(withSound.detail, "5 s \u00d7 $0.168/s with sound (list price)");
  const silent = costEstimate(15, false);
  assert.ok(Math.abs(silent.usd - 1.68) < 1e-9);
  assert.equal(silent.detail, "15 s \u00d7 $0.112/s without sound (list price)");
  assert.equal(costEstimate(3, false).text, "Estimated cost \u2248 $0.34");
});

test("cost follows the API's current prices when the server has them", () => {
  const cost = costEstimate(10, true, { per_second_usd: 0.1, per_second_with_sound_usd: 0.2, source: "api" });
  assert.ok(Math.abs(cost.usd - 2) < 1e-9);
  assert.equal(cost.detail, "10 s \u00d7 $0.20/s with sound (current API price)");
});

test("cost falls back to list prices on a broken pricing answer, and is unknown without inputs", () => {
  assert.equal(costEstimate(5, true, { per_second_usd: "x" }).rate, DEFAULT_PRICING.per_second_with_sound_usd);
  assert.equal(costEstimate(null, true), null, "duration fed by a link");
  assert.equal(costEstimate(5, null), null, "sound fed by a link");
});

// --- timeline --------------------------------------------------------------------------------

test("shots become proportional blocks against duration", () => {
  const timeline = buildTimeline([{ prompt: "a", duration: 3 }, { prompt: "b", duration: 7 }, { prompt: "c", duration: 5 }], 15);
  assert.equal(timeline.status, "ok");
  assert.equal(timeline.warning, "");
  assert.deepEqual(timeline.blocks.map((b) => [b.index, b.start, b.startFraction, b.widthFraction]),
    [[1, 0, 0, 0.2], [2, 3, 0.2, 7 / 15], [3, 10, 10 / 15, 1 / 3]]);
  assert.equal(timeline.targetFraction, 1);
});

test("shots longer than duration: warning, overflowing blocks marked, scale shows the excess", () => {
  const timeline = buildTimeline([{ prompt: "a", duration: 5 }, { prompt: "b", duration: 7 }], 10);
  assert.equal(timeline.status, "mismatch");
  assert.equal(timeline.total, 12);
  assert.equal(timeline.scale, 12);
  assert.match(timeline.warning, /add up to 12 s but duration is 10 s \(2 s too long\)/);
  assert.deepEqual(timeline.blocks.map((b) => b.overflow), [false, true]);
  assert.equal(timeline.targetFraction, 10 / 12);
});

test("shots shorter than duration: warning names the missing seconds", () => {
  const timeline = buildTimeline([{ prompt: "a", duration: 4 }, { prompt: "b", duration: 4 }], 10);
  assert.equal(timeline.status, "mismatch");
  assert.match(timeline.warning, /8 s but duration is 10 s \(2 s short\)/);
  assert.equal(timeline.scale, 10);
});

test("timeline flags shots the API would refuse", () => {
  const timeline = buildTimeline([{ prompt: " ", duration: 2 }, { prompt: "x".repeat(513), duration: 13 }], 15);
  assert.equal(timeline.status, "ok");
  assert.deepEqual(timeline.problems, [
    "Shot 1: duration must be 3 to 15 s (got 2)", "Shot 1 has no prompt",
    "Shot 2: prompt is longer than 512 characters"]);
});

test("a shot whose duration comes from a link makes the sum unknown, not wrong", () => {
  const timeline = buildTimeline([{ prompt: "a", duration: null }, { prompt: "b", duration: 5 }], 10);
  assert.equal(timeline.status, "unknown");
  assert.equal(timeline.warning, "");
  assert.equal(buildTimeline([], 5).status, "none");
});

// --- graph walks -----------------------------------------------------------------------------

function segmentNode(prompt, duration, previous = null, extra = {}) {
  return { type: "RunComfyKling3MultiPromptSegment", prompt, duration, previous, ...extra };
}
const upstream = (node, name) => (name === "multi_prompt" ? node.multi_prompt : node.previous) ?? null;
const read = (node) => (node.type !== "RunComfyKling3MultiPromptSegment" ? null
  : node.bypassed ? { skip: true } : { prompt: node.prompt, duration: node.duration });

test("segments are collected upstream first through 'previous'", () => {
  const first = segmentNode("wide shot", 3);
  const second = segmentNode("close-up", 5, first);
  const third = segmentNode("crane out", 7, second);
  const result = collectSegments({ multi_prompt: third }, "multi_prompt", upstream, read);
  assert.deepEqual(result.segments.map((s) => s.prompt), ["wide shot", "close-up", "crane out"]);
  assert.equal(result.linked, true);
  assert.equal(result.complete, true);
});

test("a bypassed segment is skipped like ComfyUI skips it; a foreign node ends the chain", () => {
  const first = segmentNode("a", 3);
  const skipped = segmentNode("b", 5, first, { bypassed: true });
  const last = segmentNode("c", 7, skipped);
  assert.deepEqual(collectSegments({ multi_prompt: last }, "multi_prompt", upstream, read).segments.map((s) => s.prompt),
    ["a", "c"]);
  const foreign = { type: "SomethingElse" };
  const result = collectSegments({ multi_prompt: segmentNode("x", 3, foreign) }, "multi_prompt", upstream, read);
  assert.equal(result.complete, false);
  assert.equal(result.segments.length, 1);
});

test("a loop in the chain does not hang", () => {
  const a = segmentNode("a", 3);
  const b = segmentNode("b", 3, a);
  a.previous = b;
  const result = collectSegments({ multi_prompt: b }, "multi_prompt", upstream, read);
  assert.equal(result.complete, false);
  assert.equal(result.segments.length, 2);
});

test("nothing linked: no timeline", () => {
  const result = collectSegments({}, "multi_prompt", upstream, read);
  assert.deepEqual(result, { segments: [], linked: false, complete: true });
});

test("execution ids resolve through subgraphs", () => {
  const inner = { id: 5, name: "inner t2v" };
  const subgraph = { nodes: { 5: inner } };
  const outer = { id: 12, subgraph };
  const root = { nodes: { 12: outer, 7: { id: 7, name: "root t2v" } } };
  const getNode = (graph, id) => graph.nodes[id] ?? null;
  const subgraphOf = (node) => node.subgraph ?? null;
  assert.equal(resolveExecutionId(root, "7", getNode, subgraphOf).name, "root t2v");
  assert.equal(resolveExecutionId(root, "12:5", getNode, subgraphOf).name, "inner t2v");
  assert.equal(resolveExecutionId(root, "7:5", getNode, subgraphOf), null);
  assert.equal(resolveExecutionId(root, "99", getNode, subgraphOf), null);
  assert.equal(resolveExecutionId(root, null, getNode, subgraphOf), null);
});

// --- token settings text ---------------------------------------------------------------------

test("the settings entry says which token is in use and what it overrides", () => {
  assert.match(tokenStatusText({ configured: false, source: null, masked: "" }), /No token set/);
  assert.equal(tokenStatusText({ configured: true, source: "settings", masked: "\u2022\u2022\u2022\u2022abcd",
    overridden: ["RUNCOMFY_API_TOKEN"] }),
  "In use: \u2022\u2022\u2022\u2022abcd (saved in these settings). Also set but not used: RUNCOMFY_API_TOKEN.");
  assert.equal(tokenStatusText({ configured: true, source: "RUNCOMFY_TOKEN", masked: "\u2022\u2022\u2022\u2022wxyz", overridden: [] }),
    "In use: \u2022\u2022\u2022\u2022wxyz (from the environment variable RUNCOMFY_TOKEN).");
});

test("check results read as valid / invalid / could not check", () => {
  assert.equal(tokenCheckText({ result: "valid", detail: "Accepted by https://x" }), "Valid: Accepted by https://x");
  assert.equal(tokenCheckText({ result: "invalid", detail: "refused" }), "Invalid: refused");
  assert.equal(tokenCheckText({ result: "unreachable", detail: "timed out" }), "Could not check: timed out");
  assert.match(tokenCheckText({}), /unexpected/);
});
