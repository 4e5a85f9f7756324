import assert from "node:assert/strict";
import test from "node:test";

import { badgeGetter, describeWithPrice, inputDefault, priceBadgeText, searchPrice, searchPriceText, shotBadgeText }
  from "../js/kling3_badges.js";
import { setTranslations } from "../js/kling3_i18n.js";
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

// A text-to-video definition as /object_info sends it (V1 INPUT_TYPES), defaults 5 s with sound.
function t2vDef(overrides = {}) {
  return {
    name: "RunComfyKling3TextToVideo", description: "Generates a video.",
    input: { required: { duration: ["INT", { default: 5, min: 3, max: 15 }], sound: ["BOOLEAN", { default: true }],
      prompt: ["STRING", { multiline: true }] }, optional: {} },
    ...overrides,
  };
}
const LIST = { per_second_usd: 0.112, per_second_with_sound_usd: 0.168, source: "default" };

test("the search price is the node's default settings' price, in dollars", () => {
  assert.equal(inputDefault(t2vDef(), "duration"), 5);
  assert.equal(inputDefault(t2vDef(), "sound"), true);
  assert.equal(inputDefault(t2vDef(), "missing"), undefined);
  assert.equal(searchPriceText(t2vDef(), LIST), "\u2248 $0.84 for a 5 s video with sound");
  const silent = t2vDef({ input: { required: { duration: ["INT", { default: 10 }],
    sound: ["BOOLEAN", { default: false }] } } });
  assert.equal(searchPriceText(silent, LIST), "\u2248 $1.12 for a 10 s video without sound");
  assert.equal(searchPriceText(t2vDef(), { ...LIST, per_second_with_sound_usd: 0.2, source: "api" }),
    "\u2248 $1.00 for a 5 s video with sound", "the pricing route's current table, not the list price");
  assert.equal(searchPriceText({ name: "x", input: {} }, LIST), "", "no defaults: no price");
  assert.doesNotMatch(searchPriceText(t2vDef(), LIST), /credit/i);
});

test("the description starts with the price; without a price it stays as it was", () => {
  assert.equal(describeWithPrice("Generates a video.", "\u2248 $0.84 for a 5 s video with sound"),
    "\u2248 $0.84 for a 5 s video with sound, billed in US dollars by RunComfy. Generates a video.");
  assert.equal(describeWithPrice("", "\u2248 $0.84 for a 5 s video with sound"),
    "\u2248 $0.84 for a 5 s video with sound, billed in US dollars by RunComfy.");
  assert.equal(describeWithPrice("Generates a video.", ""), "Generates a video.");
  assert.equal(describeWithPrice(undefined, ""), "");
});

test("the search price follows the language setting", () => {
  setTranslations({ ko: { kling3: { search: { priceSound: "{seconds}초 영상, 사운드 포함 {price}",
    description: "{price} (RunComfy, 미국 달러). {description}" } } } }, () => "ko");
  try {
    assert.equal(describeWithPrice("영상을 생성합니다.", searchPriceText(t2vDef(), LIST)),
      "5초 영상, 사운드 포함 \u2248 $0.84 (RunComfy, 미국 달러). 영상을 생성합니다.");
  } finally {
    setTranslations({}, () => "en");
  }
});

test("applying the search price changes only the text-to-video definition, once per load", () => {
  let prices = LIST;
  const rebuilt = [];
  const search = searchPrice("RunComfyKling3TextToVideo", () => prices, (defs) => rebuilt.push(defs));
  const other = { name: "RunComfyKling3Prompt", description: "A prompt." };
  const defs = { RunComfyKling3TextToVideo: t2vDef(), RunComfyKling3Prompt: other };
  search.loaded(defs);
  search.apply(Object.values(defs));   // the hook gets an array of the same objects
  const expected = "\u2248 $0.84 for a 5 s video with sound, billed in US dollars by RunComfy. Generates a video.";
  assert.equal(defs.RunComfyKling3TextToVideo.description, expected);
  assert.equal(other.description, "A prompt.");
  search.apply(Object.values(defs));
  assert.equal(defs.RunComfyKling3TextToVideo.description, expected, "a second call adds no second price");
  assert.equal(search.refresh(), false, "same prices: nothing rebuilt");
  assert.deepEqual(rebuilt, []);

  prices = { ...LIST, per_second_with_sound_usd: 0.2, source: "api" };
  assert.equal(search.refresh(), true, "new prices: the frontend's copy is rebuilt");
  assert.equal(rebuilt[0], defs, "with the definitions ComfyUI loaded");
  search.apply(Object.values(rebuilt[0]));
  assert.match(defs.RunComfyKling3TextToVideo.description,
    /^\u2248 \$1\.00 for a 5 s video with sound, .*Generates a video\.$/);
  assert.equal(search.refresh(), false);

  const reloaded = { RunComfyKling3TextToVideo: t2vDef({ description: "Erzeugt ein Video." }) };
  search.loaded(reloaded);             // a reload of the definitions brings fresh objects
  search.apply(Object.values(reloaded));
  assert.match(reloaded.RunComfyKling3TextToVideo.description, /RunComfy\. Erzeugt ein Video\.$/);
});

test("nothing loaded yet: refreshing does nothing", () => {
  const search = searchPrice("RunComfyKling3TextToVideo", () => LIST, () => assert.fail("rebuilt"));
  assert.equal(search.refresh(), false);
  search.apply(null);
  search.apply([{ name: "RunComfyKling3TextToVideo" }]);  // no defaults: the description stays empty
  assert.equal(search.refresh(), false);
});
