// kling3_i18n.js: lookup in the pack's part of ComfyUI's /i18n answer, placeholders, the English
// fallback, following the locale, and loading through a ComfyUI-shaped api object.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  format, loadFromComfy, loadedLocales, lookup, onLocaleChange, setTranslations, t,
} from "../js/kling3_i18n.js";

const I18N = {
  en: { kling3: { cost: { estimate: "Estimated cost \u2248 {usd}" } }, nodeDefs: {} },
  ko: { kling3: { cost: { estimate: "예상 비용 \u2248 {usd}" } }, otherPack: { x: "y" } },
  ja: { kling3: { cost: {} } },
  fr: { otherPack: { x: "z" } },
};

test("looks keys up by their dotted path and fills placeholders", () => {
  setTranslations(I18N, () => "ko");
  assert.equal(t("kling3.cost.estimate", "Estimated cost \u2248 {usd}", { usd: "$0.84" }), "예상 비용 \u2248 $0.84");
  assert.equal(lookup(I18N.ko, "kling3.cost"), undefined);   // a group is not a text
  assert.equal(lookup(I18N.ko, "kling3.cost.estimate.more"), undefined);
});

test("falls back to the English given in the code", () => {
  setTranslations(I18N, () => "ja");                       // ja lacks the key
  assert.equal(t("kling3.cost.estimate", "Estimated cost \u2248 {usd}", { usd: "$1" }), "Estimated cost \u2248 $1");
  setTranslations(I18N, () => "fr");                       // the pack has no French at all
  assert.equal(t("kling3.cost.estimate", "Cost {usd}", { usd: "$1" }), "Estimated cost \u2248 $1");
  setTranslations(I18N, () => "zh-TW");
  assert.equal(t("kling3.none", "Plain"), "Plain");
  setTranslations(I18N, () => { throw new Error("settings not ready"); });
  assert.equal(t("kling3.none", "Plain"), "Plain");
});

test("keeps only the pack's namespace", () => {
  setTranslations(I18N, () => "ko");
  assert.deepEqual(loadedLocales(), ["en", "ja", "ko"]);
  assert.equal(t("otherPack.x", "fallback"), "fallback");
});

test("placeholders: missing ones stay, values are not re-interpreted", () => {
  assert.equal(format("{a} and {b}", { a: 1 }), "1 and {b}");
  assert.equal(format("{a}", { a: "{b}", b: "no" }), "{b}");
  assert.equal(format("{a}", { a: 0 }), "0");
  assert.equal(format("{a}", { a: null }), "{a}");
});

test("follows the locale on every call and tells listeners once per change", () => {
  let locale = "en";
  setTranslations(I18N, () => locale);
  const seen = [];
  const stop = onLocaleChange((value) => seen.push(value));
  assert.equal(t("kling3.cost.estimate", "E {usd}", { usd: 1 }), "Estimated cost \u2248 1");
  locale = "ko";
  assert.equal(t("kling3.cost.estimate", "E {usd}", { usd: 1 }), "예상 비용 \u2248 1");
  t("kling3.cost.estimate", "E");
  stop();
  locale = "en";
  t("kling3.cost.estimate", "E");
  assert.deepEqual(seen, ["ko"]);
});

test("loads through ComfyUI's /i18n route and reads Comfy.Locale from the settings store", async () => {
  const asked = [];
  const settingsEvents = new EventTarget();
  let locale = "ko";
  const app = {
    extensionManager: { setting: { get: (id) => (id === "Comfy.Locale" ? locale : undefined) } },
    ui: { settings: settingsEvents },
  };
  const api = { fetchApi: async (path) => { asked.push(path); return { ok: true, json: async () => I18N }; } };
  await loadFromComfy(app, api);
  assert.deepEqual(asked, ["/i18n"]);
  assert.equal(t("kling3.cost.estimate", "E {usd}", { usd: "$2" }), "예상 비용 \u2248 $2");
  const seen = [];
  const stop = onLocaleChange((value) => seen.push(value));
  locale = "en";
  settingsEvents.dispatchEvent(new Event("Comfy.Locale.change"));
  stop();
  assert.deepEqual(seen, ["en"]);
});

test("a failing /i18n leaves English and still follows the locale", async () => {
  setTranslations({}, () => "en");
  const app = { extensionManager: { setting: { get: () => "ko" } } };
  const warn = console.warn;
  console.warn = () => {};
  try {
    await loadFromComfy(app, { fetchApi: async () => ({ ok: false, status: 500 }) });
  } finally {
    console.warn = warn;
  }
  assert.equal(t("kling3.cost.estimate", "Estimated {usd}", { usd: "$3" }), "Estimated $3");
});

test("the pack's own locales drive the extension's texts (statusText, costEstimate)", async () => {
  const { readFile } = await import("node:fs/promises");
  const { costEstimate } = await import("../js/kling3_cost.js");
  const { statusText } = await import("../js/kling3_status.js");
  const data = {};
  for (const lang of ["en", "ko", "zh", "ja"]) {
    data[lang] = JSON.parse(await readFile(new URL(`../../locales/${lang}/main.json`, import.meta.url), "utf8"));
  }
  let locale = "ko";
  setTranslations(data, () => locale);
  assert.equal(statusText("generating", {}), "생성 중");
  assert.match(costEstimate(5, true).text, /^예상 비용 \u2248 \$0\.84$/);
  locale = "ja";
  assert.match(costEstimate(5, false).detail, /サウンドなし/);
  locale = "zh";
  assert.equal(statusText("done", { elapsed_s: 62 }), "用时 1:02 完成");
  locale = "en";
  assert.equal(costEstimate(5, true).text, "Estimated cost \u2248 $0.84");
  setTranslations({}, () => "en");
});
