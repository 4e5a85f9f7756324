import assert from "node:assert/strict";
import test from "node:test";

import { badgeGetter, priceBadgeText, shotBadgeText } from "../js/kling3_badges.js";
import { applyTemplateInfo, templateInfo, titleFromName } from "../js/kling3_templates.js";

test("the price badge shows the estimate in dollars, nothing without one", () => {
  assert.equal(priceBadgeText({ usd: 0.84 }), "\u2248 $0.84");
  assert.equal(priceBadgeText({ usd: 2.016 }), "\u2248 $2.02");
  assert.equal(priceBadgeText(null), "");
});

test("a shot badge names the shot's number and current length", () => {
  assert.equal(shotBadgeText(2, 4), "Shot 2 \u00b7 4 s");
  assert.equal(shotBadgeText(3, null), "Shot 3");
  assert.equal(shotBadgeText(0, 4), "");
});

test("a badge is made again only when its text changes", () => {
  let text = "a";
  const made = [];
  class Badge { constructor(options) { made.push(options.text); this.text = options.text; } }
  const get = badgeGetter(() => ({ text, bgColor: "#000" }), Badge);
  assert.equal(get().text, "a");
  assert.equal(get().text, "a");
  text = "b";
  assert.equal(get().text, "b");
  assert.deepEqual(made, ["a", "b"]);
  text = "";
  assert.equal(get().getWidth(), 0, "no text: an empty badge that draws nothing");
});

test("the pack's templates get human titles and one-line descriptions without - or _", () => {
  for (const name of ["kling3_single_shot_with_sound", "kling3_three_shot_story",
    "kling3_frames_and_sound_onward", "kling3_offline_sandbox_walkthrough"]) {
    const info = templateInfo(name);
    assert.ok(info.title.startsWith("Kling 3.0 \u00b7 ") && !info.title.includes("_"), info.title);
    assert.ok(info.description.length > 20 && !/[-_]/.test(info.description), info.description);
  }
  assert.equal(titleFromName("kling3_batch_of_four"), "Kling 3.0 \u00b7 Batch of four");
  assert.equal(templateInfo("flux_dev_example"), null, "another pack's template is left alone");
});

test("applying the titles changes only this pack's entries, once", () => {
  const entries = [{ name: "kling3_three_shot_story", title: "kling3_three_shot_story", sourceModule: "pack" },
    { name: "other", title: "other", sourceModule: "pack" },
    { name: "kling3_core_like", title: "x", sourceModule: "default" }];
  assert.equal(applyTemplateInfo(entries), 1);
  assert.equal(applyTemplateInfo(entries), 0);
  assert.equal(entries[0].title, "Kling 3.0 \u00b7 Three shot story");
  assert.equal(entries[1].title, "other");
  assert.equal(entries[2].title, "x");
});
