// The Prompt List node's live count and estimate: the list read by the server's rule (the shared
// cases, also checked by tests/test_shared_batch_cases.py against core/batch.py), the text-to-video
// nodes its outputs reach, and the texts of the badge and the line.
// Run: node --test web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { DEFAULT_PRICING } from "../js/kling3_cost.js";
import { NODE_TYPES } from "../js/kling3_graph.js";
import {
  charCount, downstreamJobs, jobEstimate, listModel, listProblem, listTexts, MAX_PROMPT_CHARS, MAX_PROMPTS,
  parsePrompts, pyStrip,
} from "../js/kling3_prompt_list.js";

const shared = JSON.parse(readFileSync(new URL("./prompt_list_cases.json", import.meta.url), "utf8"));
const caseText = (c) => ("text" in c ? c.text : c.text_parts.map(([piece, times]) => piece.repeat(times)).join(""));

test("the limits are the server's (the case file names them; the Python test checks them there)", () => {
  assert.equal(MAX_PROMPTS, shared.max_prompts);
  assert.equal(MAX_PROMPT_CHARS, shared.max_prompt_chars);
});

test("the list is read as the server reads it: every shared case", () => {
  assert.ok(shared.cases.length >= 20);
  for (const c of shared.cases) {
    const prompts = parsePrompts(caseText(c));
    if (c.prompts) assert.deepEqual(prompts, c.prompts, c.name);
    assert.equal(prompts.length, c.count ?? c.prompts.length, c.name);
    const problem = listProblem(prompts);
    const comparable = problem && typeof problem === "object" ? { too_long: problem.too_long } : problem;
    assert.deepEqual(comparable, c.problem, c.name);
  }
});

test("Python's whitespace, not JavaScript's", () => {
  assert.equal(pyStrip("\x1f\x85 a \u3000"), "a");
  assert.equal(pyStrip("\ufeffa"), "\ufeffa");
  assert.equal(charCount("\u{1F98A}\u{1F98A}"), 2);
  assert.deepEqual(parsePrompts(null), []);
});

// --- a small LiteGraph stand-in ------------------------------------------------------------------

function makeGraph() {
  const nodes = new Map();
  const links = new Map();
  let nextLink = 1;
  const graph = {
    getNodeById: (id) => nodes.get(id) ?? null,
    getLink: (id) => links.get(id) ?? null,
    add(node) {
      node.graph = graph;
      nodes.set(node.id, node);
      return node;
    },
    connect(from, slot, to, inputName) {
      const id = nextLink++;
      links.set(id, { id, origin_id: from.id, origin_slot: slot, target_id: to.id });
      from.outputs[slot].links.push(id);
      const input = to.inputs.find((i) => i.name === inputName);
      if (input) input.link = id;
      return id;
    },
  };
  return graph;
}

const outputs = (n) => Array.from({ length: n }, () => ({ links: [] }));
const listNode = (graph, text) => graph.add({ id: 1, type: NODE_TYPES.promptList, outputs: outputs(3), inputs: [],
  widgets: [{ name: "prompts", value: text }] });
const t2vNode = (graph, id, { duration = 5, sound = true, mode = 0 } = {}) => graph.add({
  id, type: NODE_TYPES.textToVideo, mode, outputs: outputs(8),
  inputs: ["multi_prompt", "prompt", "negative_prompt", "duration", "sound"].map((name) => ({ name, link: null })),
  widgets: [{ name: "duration", value: duration }, { name: "sound", value: sound }],
});
const otherNode = (graph, id, type, mode = 0) => graph.add({ id, type, mode, outputs: outputs(1),
  inputs: [{ name: "input", link: null }], widgets: [] });

const THREE = "# notes\na fox\nan owl\n\na hare\n";

test("one text-to-video node: count × its price, \"3 prompts · ≈ $2.52\"", () => {
  const graph = makeGraph();
  const list = listNode(graph, THREE);
  const video = t2vNode(graph, 2);
  graph.connect(list, 0, video, "prompt");
  graph.connect(list, 1, video, "negative_prompt");
  const jobs = downstreamJobs(list);
  assert.deepEqual(jobs.nodes, [video], "a node linked twice is one job per prompt");
  const model = listModel(THREE, jobs, DEFAULT_PRICING);
  assert.equal(model.count, 3);
  const texts = listTexts(model);
  assert.equal(texts.badge, "3 prompts \u00b7 \u2248 $2.52");
  assert.equal(texts.line, "3 prompts \u00b7 \u2248 $2.52 \u00b7 $0.84 per prompt");
  assert.equal(texts.warn, false);
  assert.match(texts.title, /estimate/);
});

test("nothing connected: the count, and that the estimate needs a text-to-video node", () => {
  const graph = makeGraph();
  const list = listNode(graph, "a fox\nan owl");
  const texts = listTexts(listModel("a fox\nan owl", downstreamJobs(list), DEFAULT_PRICING));
  assert.equal(texts.badge, "2 prompts");
  assert.match(texts.line, /^2 prompts \u00b7 the estimate needs a connected text-to-video node$/);
  assert.equal(listTexts(listModel("a fox", downstreamJobs(list), DEFAULT_PRICING)).badge, "1 prompt");
  assert.equal(listTexts(listModel("# nothing", downstreamJobs(list), DEFAULT_PRICING)).badge, "No prompts");
});

test("every text-to-video node reached counts, through reroutes and other nodes, once each", () => {
  const graph = makeGraph();
  const list = listNode(graph, THREE);
  const reroute = otherNode(graph, 2, "Reroute");
  const first = t2vNode(graph, 3, { duration: 5, sound: true });     // $0.84
  const second = t2vNode(graph, 4, { duration: 10, sound: false });  // $1.12
  const muted = t2vNode(graph, 5, { mode: 2 });
  const bypassed = otherNode(graph, 6, "StringConcatenate", 4);
  const third = t2vNode(graph, 7, { duration: 3, sound: false });    // $0.336, behind a bypassed node
  graph.connect(list, 0, reroute, "input");
  graph.connect(reroute, 0, first, "prompt");
  graph.connect(list, 0, second, "prompt");
  graph.connect(list, 0, muted, "prompt");
  graph.connect(list, 0, bypassed, "input");
  graph.connect(bypassed, 0, third, "prompt");
  graph.connect(first, 0, second, "multi_prompt");   // a loop back to a node already seen
  const jobs = downstreamJobs(list);
  assert.deepEqual(jobs.nodes.map((n) => n.id).sort(), [3, 4, 7]);
  const model = listModel(THREE, jobs, DEFAULT_PRICING);
  assert.equal(model.jobs, 3);
  assert.equal(listTexts(model).badge, `3 prompts \u00b7 \u2248 $${(3 * (0.84 + 1.12 + 0.336)).toFixed(2)}`);
  assert.match(listTexts(model).line, /\(3 text-to-video nodes\)$/);
});

test("duration or sound from a link: the dearest case, shown as an upper bound", () => {
  const graph = makeGraph();
  const list = listNode(graph, THREE);
  const video = t2vNode(graph, 2);
  const source = otherNode(graph, 3, "PrimitiveInt");
  graph.connect(list, 0, video, "prompt");
  graph.connect(source, 0, video, "duration");
  assert.deepEqual(jobEstimate(video, DEFAULT_PRICING), { usd: 15 * DEFAULT_PRICING.per_second_with_sound_usd, upTo: true });
  const texts = listTexts(listModel(THREE, downstreamJobs(list), DEFAULT_PRICING));
  assert.equal(texts.badge, "3 prompts \u00b7 \u2264 $7.56");
  assert.match(texts.line, /at most: duration or sound comes from a link$/);
});

test("the prices in use are the pricing route's", () => {
  const graph = makeGraph();
  const list = listNode(graph, THREE);
  graph.connect(list, 0, t2vNode(graph, 2, { duration: 5, sound: false }), "prompt");
  const pricing = { per_second_usd: 0.1, per_second_with_sound_usd: 0.15, source: "api" };
  assert.equal(listTexts(listModel(THREE, downstreamJobs(list), pricing)).badge, "3 prompts \u00b7 \u2248 $1.50");
});

test("what would stop the run is said on the line, and the badge turns to a warning", () => {
  const graph = makeGraph();
  const list = listNode(graph, "");
  graph.connect(list, 0, t2vNode(graph, 2), "prompt");
  const jobs = downstreamJobs(list);
  const many = listTexts(listModel("a fox\n".repeat(21), jobs, DEFAULT_PRICING));
  assert.equal(many.badge, "21 prompts \u00b7 \u2248 $17.64");
  assert.match(many.line, /at most 20 make one batch/);
  assert.equal(many.warn, true);
  const long = listTexts(listModel(`fine\n${"x".repeat(2501)}`, jobs, DEFAULT_PRICING));
  assert.match(long.line, /prompt 2 has 2501 characters, at most 2500/);
  const empty = listTexts(listModel("# just notes", jobs, DEFAULT_PRICING));
  assert.equal(empty.badge, "No prompts");
  assert.match(empty.line, /^No prompts yet/);
  assert.equal(empty.warn, false);
});

test("a subgraph reached is said to be left out", () => {
  const graph = makeGraph();
  const list = listNode(graph, THREE);
  const inner = otherNode(graph, 2, "some-subgraph-id");
  inner.subgraph = {};
  graph.connect(list, 0, inner, "input");
  const jobs = downstreamJobs(list);
  assert.equal(jobs.partial, true);
  assert.match(listTexts(listModel(THREE, jobs, DEFAULT_PRICING)).line, /subgraph/);
});

test("prompts fed by a link: counted when the run starts, no badge", () => {
  const texts = listTexts(listModel(null, { nodes: [], partial: false }, DEFAULT_PRICING));
  assert.equal(texts.badge, "");
  assert.match(texts.line, /come from a link/);
});
