import { test } from "node:test";
import assert from "node:assert/strict";

import { addStyleOnce, el } from "../js/kling3_dom.js";

function fakeDocument() {
  const appended = [];
  const make = (tag) => ({ tagName: tag, className: "", textContent: "" });
  return { appended, createElement: make, head: { appendChild: (node) => appended.push(node) } };
}

test("a style is added to the page once per key, however many nodes ask", () => {
  const doc = fakeDocument();
  globalThis.document = doc;
  try {
    addStyleOnce("test-a", ".a {}");
    addStyleOnce("test-a", ".a {}");
    addStyleOnce("test-b", ".b {}");
    assert.deepEqual(doc.appended.map((s) => s.textContent), [".a {}", ".b {}"]);
  } finally {
    delete globalThis.document;
  }
});

test("an element gets its class and text; no text for null or undefined", () => {
  globalThis.document = fakeDocument();
  try {
    const node = el("div", "rk3-x", "hello");
    assert.equal(node.className, "rk3-x");
    assert.equal(node.textContent, "hello");
    assert.equal(el("span", "", null).textContent, "");
    assert.equal(el("span").textContent, "");
  } finally {
    delete globalThis.document;
  }
});
