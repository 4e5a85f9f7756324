// The node panel against litegraph-shaped fake nodes and a tiny fake DOM: what it reads from
// the graph, what it shows, and that nothing of it is saved in the workflow or the prompt.
import { test } from "node:test";
import assert from "node:assert/strict";

class FakeElement {
  constructor(tag) {
    this.tagName = tag;
    this.children = [];
    this.style = {};
    this.className = "";
    this.title = "";
    this._text = "";
    this.isConnected = false;
  }
  set textContent(value) { this._text = String(value); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  append(...nodes) { this.children.push(...nodes); }
  appendChild(node) { this.children.push(node); return node; }
  replaceChildren(...nodes) { this._text = ""; this.children = [...nodes]; }
  setAttribute() {}
  addEventListener() {}
}
globalThis.document = { createElement: (tag) => new FakeElement(tag), head: new FakeElement("head") };

const { Kling3Panel, PANEL_WIDGET } = await import("../js/kling3_panel.js");
const { chargedOf, chargedText } = await import("../js/kling3_cost.js");
const { readSegment, upstreamNode, widgetValue } = await import("../js/kling3_graph.js");

// --- a litegraph-shaped graph ----------------------------------------------------------------

class FakeGraph {
  constructor() { this.nodes = new Map(); this.links = new Map(); this.nextLink = 1; }
  add(node) { node.graph = this; this.nodes.set(node.id, node); return node; }
  getNodeById(id) { return this.nodes.get(Number(id)) ?? null; }
  getLink(id) { return this.links.get(id); }
  connect(origin, target, inputName) {
    const id = this.nextLink++;
    this.links.set(id, { id, origin_id: origin.id, target_id: target.id });
    const input = inputName === null ? target.inputs[0] : target.inputs.find((i) => i.name === inputName);
    input.link = id;
  }
}

function makeNode(id, type, widgets, inputs) {
  return {
    id, type, comfyClass: type, mode: 0, size: [400, 300],
    widgets: Object.entries(widgets).map(([name, value]) => ({ name, value })),
    inputs: inputs.map((name) => ({ name, link: null })),
    addDOMWidget(name, type2, element, options) {
      const widget = { name, type: type2, element, options };
      this.widgets.push(widget);
      return widget;
    },
    computeSize() { return [400, 300]; },
    setSize(size) { this.size = size; },
    setDirtyCanvas() {},
  };
}

const T2V = "RunComfyKling3TextToVideo";
const SEGMENT = "RunComfyKling3MultiPromptSegment";

function t2vNode(graph, { duration = 5, sound = true } = {}) {
  return graph.add(makeNode(1, T2V, { prompt: "p", negative_prompt: "", duration, aspect_ratio: "16:9",
    cfg_scale: 0.5, sound, seed: 0 }, ["prompt", "duration", "sound", "multi_prompt"]));
}

function segment(graph, id, prompt, duration) {
  return graph.add(makeNode(id, SEGMENT, { prompt, duration }, ["prompt", "duration", "previous"]));
}

const services = (eta = null) => ({ pricing: () => ({ per_second_usd: 0.112, per_second_with_sound_usd: 0.168, source: "default" }),
  typicalSeconds: () => eta });

// --- graph reading ---------------------------------------------------------------------------

test("upstream nodes are found through links and legacy Reroute nodes", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph);
  const seg = segment(graph, 2, "wide", 3);
  const reroute = graph.add(makeNode(3, "Reroute", {}, [""]));
  graph.connect(seg, reroute, null);
  graph.connect(reroute, t2v, "multi_prompt");
  assert.equal(upstreamNode(t2v, "multi_prompt"), seg);
  assert.equal(upstreamNode(seg, "previous"), null);
});

test("a widget fed by a link has no readable value", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph, { duration: 7 });
  assert.equal(widgetValue(t2v, "duration"), 7);
  const source = graph.add(makeNode(9, "PrimitiveInt", { value: 10 }, []));
  graph.connect(source, t2v, "duration");
  assert.equal(widgetValue(t2v, "duration"), null);
});

test("segment nodes read as shots; bypassed ones are passed through; others are not shots", () => {
  const graph = new FakeGraph();
  const seg = segment(graph, 2, "close-up", 4);
  assert.deepEqual(readSegment(seg), { prompt: "close-up", duration: 4 });
  seg.mode = 4;
  assert.deepEqual(readSegment(seg), { skip: true });
  assert.equal(readSegment(t2vNode(graph)), null);
});

// --- the panel -------------------------------------------------------------------------------

test("the panel widget is never saved in the workflow nor sent in the prompt", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph);
  const panel = new Kling3Panel(t2v, services());
  const widget = t2v.widgets.find((w) => w.name === PANEL_WIDGET);
  assert.equal(widget, panel.widget);
  assert.equal(widget.serialize, false, "workflow widgets_values skip serialize === false");
  assert.equal(widget.options.serialize, false, "the API prompt skips options.serialize === false");
  assert.equal(t2v.widgets.at(-1), widget, "added last, so no saved widget changes its index");
});

test("the panel shows the cost and follows duration and sound as they change", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph, { duration: 5, sound: true });
  const panel = new Kling3Panel(t2v, services(110));
  panel.refresh(0);
  assert.match(panel.inner.textContent, /Estimated cost \u2248 \$0\.84/);
  assert.match(panel.inner.textContent, /5 s \u00d7 \$0\.168\/s with sound/);
  assert.match(panel.inner.textContent, /usually ~1:50/);
  t2v.widgets.find((w) => w.name === "sound").value = false;
  t2v.widgets.find((w) => w.name === "duration").value = 10;
  panel.refresh(1);
  assert.match(panel.inner.textContent, /\$1\.12/);
  assert.match(panel.inner.textContent, /without sound/);
});

test("connected segments draw a timeline and warn when they do not add up to duration", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph, { duration: 10 });
  const first = segment(graph, 2, "wide", 5);
  const second = segment(graph, 3, "close", 7);
  graph.connect(first, second, "previous");
  graph.connect(second, t2v, "multi_prompt");
  const panel = new Kling3Panel(t2v, services());
  panel.refresh(0);
  const text = panel.inner.textContent;
  assert.match(text, /Multi-shot: 2 shots, 12 s of 10 s/);
  assert.match(text, /Shots add up to 12 s but duration is 10 s \(2 s too long\)/);
  const bar = panel.inner.children.find((c) => c.className === "rk3-bar");
  const blocks = bar.children.filter((c) => c.className.startsWith("rk3-block"));
  assert.deepEqual(blocks.map((b) => b.style.width), [`${(5 / 12) * 100}%`, `${(7 / 12) * 100}%`]);
  assert.match(blocks[1].className, /rk3-over/);

  second.widgets.find((w) => w.name === "duration").value = 5;   // fixed in the UI
  panel.refresh(1);
  assert.doesNotMatch(panel.inner.textContent, /add up to/);
  assert.match(panel.inner.textContent, /2 shots, 10 s of 10 s \u2713/);
});

test("without segments there is no timeline", () => {
  const graph = new FakeGraph();
  const panel = new Kling3Panel(t2vNode(graph), services());
  panel.refresh(0);
  assert.doesNotMatch(panel.inner.textContent, /Multi-shot/);
});

test("status events show on the panel with a running clock, until frozen", () => {
  const graph = new FakeGraph();
  const panel = new Kling3Panel(t2vNode(graph), services());
  panel.setStatus({ node: "1", phase: "generating", elapsed_s: 40, eta_s: 60 });
  const at = panel.status.receivedAt;
  panel.refresh(at);
  assert.match(panel.inner.textContent, /Generating · 0:40 elapsed · ~1:00 left/);
  panel.refresh(at + 5000);
  assert.match(panel.inner.textContent, /0:45 elapsed · ~0:55 left/);
  panel.freeze();
  panel.refresh(at + 20_000);
  assert.match(panel.inner.textContent, /0:40 elapsed · ~1:00 left/);
  panel.setStatus({ node: "1", phase: "failed", message: "Insufficient balance", request_id: "req-1" });
  panel.refresh();
  assert.match(panel.inner.textContent, /Failed: Insufficient balance · request id req-1/);
});

// --- what the last run was charged -----------------------------------------------------------

const firstRow = (panel) => panel.inner.children[0].textContent;

test("after a run that reported its cost, the charge shows next to the estimate as the last run's", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph, { duration: 5, sound: true });
  const panel = new Kling3Panel(t2v, services(110));
  panel.refresh(0);
  assert.equal(firstRow(panel), "Estimated cost \u2248 $0.84 \u00b7 usually ~1:50");
  panel.setStatus({ node: "1", phase: "done", elapsed_s: 42, request_id: "req-abc", cost_usd: 0.84 });
  assert.equal(firstRow(panel), "Estimated cost \u2248 $0.84 \u00b7 last run: $0.84 charged \u00b7 usually ~1:50");
  const charged = panel.inner.children[0].children.find((c) => c.className === "rk3-charged");
  assert.match(charged.title, /RunComfy charged \$0\.84 for the last run's video \(request req-abc\)/);
  assert.match(panel.inner.textContent, /Done in 0:42/);

  // the user edits the inputs: the estimate is the next run's, the charge stays the last run's
  t2v.widgets.find((w) => w.name === "duration").value = 10;
  panel.refresh(1);
  assert.equal(firstRow(panel), "Estimated cost \u2248 $1.68 \u00b7 last run: $0.84 charged \u00b7 usually ~1:50");

  // a new run starts: the old charge goes; its own "done" brings its own
  panel.setStatus({ node: "1", phase: "validating" });
  assert.doesNotMatch(panel.inner.textContent, /charged/);
  panel.setStatus({ node: "1", phase: "done", elapsed_s: 80, request_id: "req-def", cost_usd: 1.68 });
  assert.match(firstRow(panel), /Estimated cost \u2248 \$1\.68 \u00b7 last run: \$1\.68 charged/);
  panel.setStatus({ node: "1", phase: "failed", message: "Insufficient balance", request_id: "req-ghi" });
  assert.doesNotMatch(panel.inner.textContent, /charged/);
});

test("a run whose result gave no cost shows nothing next to the estimate", () => {
  const graph = new FakeGraph();
  const panel = new Kling3Panel(t2vNode(graph), services());
  for (const cost_usd of [null, undefined, -1, Number.NaN, "0.84", true]) {
    panel.setStatus({ node: "1", phase: "done", elapsed_s: 42, request_id: "req-abc", cost_usd });
    assert.equal(firstRow(panel), "Estimated cost \u2248 $0.84", String(cost_usd));
    assert.doesNotMatch(panel.inner.textContent, /charged/);
  }
});

test("the charge is read only from a done event with a real amount; free runs show $0.00", () => {
  assert.deepEqual(chargedOf({ phase: "done", cost_usd: 0.8399, request_id: "r1" }), { usd: 0.8399, requestId: "r1" });
  assert.deepEqual(chargedOf({ phase: "done", cost_usd: 0 }), { usd: 0, requestId: null });
  assert.equal(chargedOf({ phase: "decoding", cost_usd: 0.84 }), null);
  assert.equal(chargedOf({ phase: "done", cost_usd: Number.POSITIVE_INFINITY }), null);
  assert.equal(chargedOf(null), null);
  assert.equal(chargedText(null), null);
  assert.equal(chargedText({ usd: 0, requestId: null }).text, "last run: $0.00 charged");
  assert.equal(chargedText({ usd: 1.005, requestId: "r" }).text, `last run: $${(1.005).toFixed(2)} charged`);
});

test("without an estimate (duration from a link) the charge gets a row of its own", () => {
  const graph = new FakeGraph();
  const t2v = t2vNode(graph);
  graph.connect(graph.add(makeNode(9, "PrimitiveInt", { value: 10 }, [])), t2v, "duration");
  const panel = new Kling3Panel(t2v, services());
  panel.setStatus({ node: "1", phase: "done", elapsed_s: 42, request_id: "req-abc", cost_usd: 1.68 });
  const rows = panel.inner.children.map((c) => c.textContent);
  assert.equal(rows[0], "Cost estimate: set duration and sound on this node");
  assert.equal(rows[1], "last run: $1.68 charged");
  assert.match(panel.inner.children[1].children[0].title, /request req-abc/);
});
