"""The translations (locales/<lang>/main.json, nodeDefs.json, settings.json, which ComfyUI serves on
GET /i18n): English follows the code, Korean, Chinese and Japanese cover exactly what English has,
nothing names a node, input, output or setting that no longer exists, placeholders agree, and the
web extension draws no English text that does not go through t()."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from pack_loader import PACK_DIR, load_pack

TRANSLATED = ("ko", "zh", "ja")
# Each language's own script; a long text without it was left in English.
SCRIPTS = {"ko": r"[\uac00-\ud7a3]", "zh": r"[\u4e00-\u9fff]", "ja": r"[\u3040-\u30ff\u4e00-\u9fff]"}
FOREIGN = {"ko": r"[\u3040-\u30ff]", "zh": r"[\uac00-\ud7a3\u3040-\u30ff]", "ja": r"[\uac00-\ud7a3]"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _locales_script():
    spec = importlib.util.spec_from_file_location("pack_locales", PACK_DIR / "scripts" / "locales.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


L = _locales_script()


def read(lang: str, name: str) -> dict:
    path = PACK_DIR / "locales" / lang / name
    assert path.is_file(), f"locales/{lang}/{name} is missing"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        pytest.fail(f"locales/{lang}/{name} is not valid JSON: {error}")
    assert isinstance(content, dict), f"locales/{lang}/{name} must hold an object"
    return content


def leaves(tree, prefix=()):
    """{path (tuple of keys): text} of a translation file (keys may hold dots: "Kling 3.0")."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(leaves(value, (*prefix, key)))
    return flat


@pytest.fixture(scope="module")
def english():
    return L.english_files(load_pack())


@pytest.mark.parametrize("name", L.FILES)
def test_english_files_follow_the_code(english, name):
    assert read("en", name) == english[name], (
        f"locales/en/{name} differs from the code: run python scripts/locales.py --write")


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("name", L.FILES)
def test_every_english_entry_is_translated_and_nothing_else(english, lang, name):
    wanted, have = leaves(english[name]), leaves(read(lang, name))
    missing = sorted(set(wanted) - set(have))
    stale = sorted(set(have) - set(wanted))
    assert not missing, f"locales/{lang}/{name} lacks: {missing}"
    assert not stale, f"locales/{lang}/{name} names what the code no longer has: {stale}"
    empty = sorted(path for path, text in have.items() if not isinstance(text, str) or not text.strip())
    assert not empty, f"locales/{lang}/{name} has empty entries: {empty}"


def test_node_entries_name_existing_nodes_inputs_and_outputs():
    pack = load_pack()
    for lang in L.LANGUAGES:
        for node_id, entry in read(lang, "nodeDefs.json").items():
            assert node_id in pack.NODE_CLASS_MAPPINGS, f"{lang}: {node_id} is not a node of the pack"
            cls = pack.NODE_CLASS_MAPPINGS[node_id]
            spec = cls.INPUT_TYPES()
            names = {n for group in ("required", "optional") for n in spec.get(group, {})}
            if any((rest[0] if rest else {}).get("control_after_generate")
                   for group in ("required", "optional") for _k, *rest in spec.get(group, {}).values()):
                names.add(L.CONTROL_AFTER_GENERATE[0])
            assert set(entry.get("inputs", {})) <= names, f"{lang}/{node_id}: unknown inputs"
            outputs = {str(i) for i in range(len(cls.RETURN_TYPES))}
            assert set(entry.get("outputs", {})) <= outputs, f"{lang}/{node_id}: unknown outputs"
        for node_id in pack.NODE_CLASS_MAPPINGS:
            assert node_id in read(lang, "nodeDefs.json"), f"{lang}: {node_id} has no entry"


def test_every_setting_of_the_extension_has_an_entry(english):
    sources = L.js_sources()
    literal = L.settings_entries(sources)   # written where registered: English must match
    declared = L.setting_ids(sources) | set(literal)
    assert {"RunComfy.Kling3.ApiToken", "RunComfy.Kling3.DailyBudgetUSD"} <= declared
    for lang in L.LANGUAGES:
        entries = read(lang, "settings.json")
        for setting_id in sorted(declared):
            key = L.i18n_key(setting_id)
            assert key in entries and entries[key].get("name"), (
                f"{lang}: setting {setting_id} has no entry in locales/{lang}/settings.json")
            if literal.get(setting_id, {}).get("tooltip") or entries[key].get("tooltip"):
                assert entries[key].get("tooltip"), f"{lang}: setting {setting_id} has no tooltip"
    for setting_id, entry in literal.items():
        en = read("en", "settings.json")[L.i18n_key(setting_id)]
        assert {k: en.get(k) for k in entry if k != "category"} == {k: v for k, v in entry.items() if k != "category"}


def test_every_extension_key_is_a_literal_and_in_every_language():
    calls = L.t_calls(L.js_sources())
    dynamic = [f"{c['file']}:{c['line']}" for c in calls if c["key"] is None or c["english"] is None]
    assert not dynamic, f"t() needs a literal key and a literal English text (for the check below): {dynamic}"
    bad_keys = [c["key"] for c in calls if not c["key"].startswith(L.NAMESPACE + ".")]
    assert not bad_keys, f"keys must start with '{L.NAMESPACE}.': {bad_keys}"
    for lang in L.LANGUAGES:
        have = {".".join(path) for path in leaves(read(lang, "main.json"))}
        missing = sorted({c["key"] for c in calls} - have)
        assert not missing, f"locales/{lang}/main.json lacks {missing}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_are_the_same_in_every_language(english, lang):
    for name in L.FILES:
        for path, text in leaves(english[name]).items():
            translated = leaves(read(lang, name)).get(path)
            if isinstance(text, str) and isinstance(translated, str):
                assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(text)), (
                    f"{lang}/{name} {path}: placeholders differ from English")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_texts_are_in_the_language_not_left_in_english(english, lang):
    for name in L.FILES:
        translated = leaves(read(lang, name))
        for path, text in leaves(english[name]).items():
            other = translated.get(path)
            if not isinstance(other, str):
                continue
            assert not re.search(FOREIGN[lang], other), f"{lang}/{name} {path}: another language's script"
            prose = len(re.findall(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", text))) >= 3
            if prose and "settingsCategories" not in path and "nodeCategories" not in path:
                assert re.search(SCRIPTS[lang], other), f"{lang}/{name} {path} is still English: {other!r}"


def test_frontend_message_syntax_is_not_used_in_texts_the_frontend_compiles():
    # ComfyUI's frontend runs nodeDefs.json and settings.json through vue-i18n, where { } | @
    # are message syntax: a tooltip holding one would show garbled or not at all.
    for lang in L.LANGUAGES:
        for name in ("nodeDefs.json", "settings.json"):
            for path, text in leaves(read(lang, name)).items():
                assert not re.search(r"[{}|@]", str(text)), f"{lang}/{name} {path}: {text!r}"


# --- English the extension draws without t() ------------------------------------------------

# Where a string literal becomes text on screen.
SINK = re.compile(
    r"(?:\.(?:textContent|innerText|title|placeholder|label|alt)\s*\+?=\s*"
    r"|\b(?:placeholder|title|label|tooltip|text|summary|detail|message|warning|status)\s*:\s*"
    r"|setAttribute\(\s*[\"'](?:title|aria-label|placeholder|alt)[\"']\s*,\s*"
    r"|\bel\([^()\n]*?,[^()\n]*?,\s*|\.push\(\s*|\breturn\s+|\bparts\s*=\s*\[\s*"
    r"|\b(?:report|toast|alert|notify)\([^()\n]*?"
    r"|(?<![=!<>+\-*/%&|^])\+?=(?![=>])\s*|=>\s*"
    r"|\?\s*|:\s*(?=[\"'`][^\n]*[,;)\]]))")
LITERAL = re.compile(L.STRING)


BRANDS = re.compile(r"\b(?:Kling|RunComfy|ComfyUI|Pro|USD|MP4|API)\b")


def looks_like_ui_text(value: str) -> bool:
    text = re.sub(r"\$\{[^}]*\}", "", value)
    if not re.search(r"[A-Za-z]{3,}", BRANDS.sub("", text)):
        return False
    if re.search(r"[\w-]+\s*:\s*[^;{}]+;", text) or re.match(r"\s*(?:calc|var|rgba?|hsla?|url)\(", text):
        return False   # CSS
    tokens = text.split()
    if all(re.fullmatch(r"[a-z0-9-]+", tok) for tok in tokens) and any("-" in tok for tok in tokens):
        return False   # a class list: "pi pi-wallet"
    if not re.search(r"\s", text):   # one token: only a capitalised word ("Done", "Save") is text
        return bool(re.fullmatch(r"[A-Z][a-z]+[.!:\u2026]?", text))
    return True


def literal_spans(source: str) -> list[tuple[int, int]]:
    """Where the string literals are, so that a sink-like text inside one is not taken for code."""
    spans, i = [], 0
    pattern = re.compile(L.STRING, re.S)
    while True:
        match = pattern.search(source, i)
        if not match:
            return spans
        spans.append(match.span())
        i = match.end()


def inside(spans, position: int) -> bool:
    return any(start < position < end for start, end in spans)


def unwrapped_texts(sources: dict, exempt: set) -> list[str]:
    found = []
    for name, source in sources.items():
        raw_lines = (PACK_DIR / "web" / "js" / name).read_text(encoding="utf-8").splitlines()
        spans = literal_spans(source)
        for sink in SINK.finditer(source):
            literal = LITERAL.match(source, sink.end())
            if not literal or inside(spans, sink.start()):
                continue
            line = source.count("\n", 0, sink.end()) + 1
            if "i18n-ignore" in raw_lines[line - 1]:
                continue
            value = L.js_string(literal.group(0))
            if looks_like_ui_text(value) and not any(value in text for text in exempt):
                found.append(f"{name}:{line}: {value!r}")
    return sorted(set(found))


def test_the_scanner_finds_english_and_passes_other_strings():
    sample = {"x.js": 'a.textContent = "Saved.";\nb.title = `${n} s not covered`;\n'
                      'parts = ["Checking inputs"];\nc.textContent = t("kling3.x", "Saved.");\n'
                      'd.className = "rk3-token";\nreturn "video/mp4";\nreturn "GET";\n'
                      'throw new Error(`HTTP ${s} from ${path}`);\nconsole.warn("Failed to load");\n'
                      'icon: "pi pi-wallet",\ntitle: `Kling 3.0 \u00b7 ${w}`,\n'}
    source = sample["x.js"] + 'e.title = `Shot ${i} (${d ?? "?"} s)`;\nkey = `min:${h}`;\n'
    spans, found = literal_spans(source), []
    for sink in SINK.finditer(source):
        literal = LITERAL.match(source, sink.end())
        if literal and not inside(spans, sink.start()) and looks_like_ui_text(L.js_string(literal.group(0))):
            found.append(source.count("\n", 0, sink.end()))
    assert found == [0, 1, 2, 11]


def test_the_extension_draws_no_english_outside_t():
    sources = L.js_sources()
    settings = L.settings_entries(sources)
    # setting names and tooltips are registered in English; ComfyUI translates them from settings.json
    registered = list(settings.values()) + list(read("en", "settings.json").values())
    exempt = {text for entry in registered for key in ("name", "tooltip") if (text := entry.get(key))}
    found = unwrapped_texts(sources, exempt)
    assert not found, ("user-visible English not wrapped in t('kling3...', 'English') "
                       "(mark a deliberate exception with // i18n-ignore):\n" + "\n".join(found))


def test_template_descriptions_keep_clear_of_what_the_template_browser_rewrites():
    # frontend 1.43 turns "-" and "_" of a custom node template's description into spaces
    for lang in L.LANGUAGES:
        templates = read(lang, "main.json").get(L.NAMESPACE, {}).get("templates", {})
        for name, entry in templates.items():
            text = entry.get("description", "") if isinstance(entry, dict) else entry
            assert not re.search(r"[-_]", text), f"{lang}: templates.{name}: {text!r}"
