// Human titles and one-line descriptions for the pack's examples in ComfyUI's template browser.
//
// ComfyUI lists a pack's example_workflows/*.json by file name only (GET /workflow_templates
// gives {pack: [names]}), and frontend 1.43 shows that name as the card's title and again, with
// "_" turned into spaces, as its description: it reads no metadata for a custom node's
// templates (an index.json there would itself be listed as a template). So the texts live here,
// translatable through kling3_i18n.js, and are set on the frontend's template store (Pinia,
// "workflowTemplates") whenever it (re)loads the list. Names not listed get a tidy title made
// from the file name. No ComfyUI imports: node --test runs the text functions as they are.
//
// The store's lists (enhancedTemplates, groupedTemplates) are computed: they are built afresh, with
// the file names as titles, whenever the templates are fetched again, which the frontend does on
// every change of Comfy.Locale (a watcher on its i18n locale calls fetchCoreTemplates, no action an
// extension could follow) without calling loadWorkflowTemplates again. So the titles are set after
// every change of the store's state too (fetchCoreTemplates replaces knownTemplateNames), in the
// language then in use.

import { t } from "./kling3_i18n.js";

const STORE_ID = "workflowTemplates";
const LOAD_ACTION = "loadWorkflowTemplates";
// The frontend turns "-" and "_" of a description into spaces: the texts avoid both.
const TEMPLATES = {
  kling3_single_shot_with_sound: () => ({
    title: t("kling3.templates.single.title", "Kling 3.0 \u00b7 One shot with sound"),
    description: t("kling3.templates.single.description",
      "A single 5 second shot with generated sound, saved as MP4. The simplest start."),
  }),
  kling3_three_shot_story: () => ({
    title: t("kling3.templates.story.title", "Kling 3.0 \u00b7 Three shot story"),
    description: t("kling3.templates.story.description",
      "One prompt, three shots of 4 s each cut into one 12 second video, with sound."),
  }),
  kling3_frames_and_sound_onward: () => ({
    title: t("kling3.templates.onward.title", "Kling 3.0 \u00b7 Frames and sound for other nodes"),
    description: t("kling3.templates.onward.description",
      "Generate a vertical clip, then pass its frames, audio and frame rate on to other nodes."),
  }),
  kling3_prompt_list_batch: () => ({
    title: t("kling3.templates.batch.title", "Kling 3.0 \u00b7 One video per prompt line"),
    description: t("kling3.templates.batch.description",
      "Write several prompts, one per line: each line becomes its own video, saved one after another."),
  }),
  kling3_story_select_shot: () => ({
    title: t("kling3.templates.selectShot.title", "Kling 3.0 \u00b7 Story, then one shot on its own"),
    description: t("kling3.templates.selectShot.description",
      "A three shot harbour story in one video, plus the second shot cut out and saved by itself."),
  }),
  kling3_offline_sandbox_walkthrough: () => ({
    title: t("kling3.templates.offline.title", "Kling 3.0 \u00b7 Try it offline (sandbox)"),
    description: t("kling3.templates.offline.description",
      "Runs against the local sandbox: no API key, nothing charged. Learn the nodes for free."),
  }),
};

/** "kling3_batch_of_four" -> "Kling 3.0 · Batch of four". */
export function titleFromName(name) {
  const words = String(name).replace(/^kling3[_-]?/i, "").split(/[_-]+/).filter(Boolean).join(" ");
  return words ? `Kling 3.0 \u00b7 ${words[0].toUpperCase()}${words.slice(1)}` : String(name);
}

/** {title, description} for one of the pack's templates, or null for another pack's. */
export function templateInfo(name) {
  const known = TEMPLATES[name];
  if (known) return known();
  if (!/^kling3[_-]/i.test(String(name))) return null;
  return { title: titleFromName(name), description: t("kling3.templates.fallbackDescription",
    "An example workflow of the RunComfy Kling 3.0 nodes.") };
}

/** Set the titles on the template entries ({name, title, description, ...}) of this pack. */
export function applyTemplateInfo(entries) {
  let changed = 0;
  for (const entry of entries ?? []) {
    if (!entry || entry.sourceModule === "default") continue;
    const info = templateInfo(entry.name);
    if (!info || entry.runcomfyKling3 === info.title) continue;
    entry.runcomfyKling3 = info.title;
    Object.assign(entry, info, { searchableText: `${info.title} ${info.description} ${entry.searchableText ?? ""}` });
    changed += 1;
  }
  return changed;
}

function fixStore(store) {
  try {
    applyTemplateInfo(store.enhancedTemplates);
    for (const group of store.groupedTemplates ?? []) {
      for (const module of group.modules ?? []) applyTemplateInfo(module.templates);
    }
  } catch (error) {
    console.warn("[RunComfy Kling 3.0] template titles not set:", error);
  }
}

function watchStore(store) {
  if (store.$id !== STORE_ID || store.runcomfyKling3Titles) return;
  store.runcomfyKling3Titles = true;
  store.$onAction(({ name, after }) => {
    if (name === LOAD_ACTION) after(() => fixStore(store));
  });
  store.$subscribe?.(() => fixStore(store), { detached: true });
  if (store.isLoaded) fixStore(store);
}

/** Follow the frontend's template store (now, or once it is created). */
export function installTemplateInfo(root = globalThis.document) {
  const pinia = root?.querySelector?.("#vue-app")?.__vue_app__?.config?.globalProperties?.$pinia;
  if (!pinia) return false;
  const existing = pinia._s?.get?.(STORE_ID);
  if (existing) watchStore(existing);
  else pinia.use(({ store }) => watchStore(store));
  return true;
}
