"""Reading the web extension's JavaScript for the texts it shows: the t("kling3...", "English")
calls, the settings it registers and their categories. Regular expressions over the source with
comments blanked, not a JavaScript parser: the modules are small and written in one style, and
tests/test_locales.py fails loudly (a key it cannot read) rather than silently.
"""
from __future__ import annotations

import re
from pathlib import Path

WEB_JS = Path(__file__).resolve().parents[1] / "web" / "js"

STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def js_string(literal: str) -> str:
    """The value of one JavaScript string literal (quotes included)."""
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and body[i + 2] == "{":
            end = body.index("}", i)
            out.append(chr(int(body[i + 3:end], 16)))
            i = end + 1
        elif nxt == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif nxt == "\n":
            i += 2
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def js_concat(expression: str) -> str | None:
    """The value of `"a" + "b"` (literals only; None when anything else is in it)."""
    parts = re.findall(STRING, expression)
    rest = re.sub(STRING, "", expression)
    if not parts or re.sub(r"[\s+]", "", rest) or any(p.startswith("`") and "${" in p for p in parts):
        return None
    return "".join(js_string(p) for p in parts)


def strip_comments(source: str) -> str:
    """`source` with comments blanked (strings kept, line numbers kept)."""
    out, i, n = [], 0, len(source)
    while i < n:
        char = source[i]
        if char in "\"'`":
            match = re.compile(STRING, re.S).match(source, i)
            end = match.end() if match else i + 1
            out.append(source[i:end])
            i = end
        elif source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", source[i:end]))
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def js_sources(web_js: Path = WEB_JS) -> dict:
    """{file name: source without comments} of the extension's modules."""
    return {path.name: strip_comments(path.read_text(encoding="utf-8")) for path in sorted(web_js.glob("*.js"))}


T_CALL = re.compile(r"(?<![\w$.])(?<!function )t\(\s*")


def t_calls(sources: dict) -> list[dict]:
    """Every t(...) call: {file, line, key, english}; key/english None when not a plain literal."""
    calls = []
    for name, source in sources.items():
        for match in T_CALL.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            rest = source[match.end():]
            key_match = re.match(STRING, rest)
            key = js_concat(key_match.group(0)) if key_match else None
            english = None
            if key_match:
                after = rest[key_match.end():]
                fallback = re.match(r"\s*,\s*(" + STRING + r"(?:\s*\+\s*" + STRING + r")*)", after)
                english = js_concat(fallback.group(1)) if fallback else None
            calls.append({"file": name, "line": line, "key": key, "english": english})
    return calls


def extension_texts(sources: dict) -> dict:
    """{key: English} of the t() calls; raises ValueError on a key given two English texts."""
    texts = {}
    for call in t_calls(sources):
        key, english = call["key"], call["english"]
        if key is None or english is None:
            continue
        if texts.get(key, english) != english:
            raise ValueError(f"{key} has two English texts: {texts[key]!r} and {english!r} ({call['file']}:{call['line']})")
        texts[key] = english
    return texts


def settings_entries(sources: dict) -> dict:
    """{setting id: {name, tooltip?, category?}} of the pack's settings ("RunComfy." ids)."""
    constants = {}
    for source in sources.values():
        for name, literal in re.findall(r"\bconst\s+([A-Z][A-Z0-9_]*)\s*=\s*(" + STRING + r")\s*;", source):
            constants[name] = js_string(literal)
    entries = {}
    for source in sources.values():
        marks = list(re.finditer(r"\bid:\s*(" + STRING + r"|[A-Z][A-Z0-9_]*)\s*,", source))
        for index, mark in enumerate(marks):
            raw = mark.group(1)
            setting_id = constants.get(raw) if raw[0].isalpha() else js_string(raw)
            if not setting_id or not setting_id.startswith("RunComfy."):
                continue
            end = marks[index + 1].start() if index + 1 < len(marks) else len(source)
            block = source[mark.end():end]
            entry = {}
            for field in ("name", "tooltip"):
                found = re.search(r"\b" + field + r":\s*(" + STRING + r"(?:\s*\+\s*" + STRING + r")*)", block)
                if found and js_concat(found.group(1)) is not None:
                    entry[field] = js_concat(found.group(1))
            # a combo's option labels: the frontend translates settings.<id>.options.<label>
            options = re.search(r"\boptions:\s*\[(.*?)\]\s*,", block, re.S)
            labels = re.findall(r"\btext:\s*(" + STRING + r")", options.group(1)) if options else []
            if labels:
                entry["options"] = {js_string(x).replace(".", "_"): js_string(x) for x in labels}
            options = re.search(r"\boptions:\s*\[(.*?)\]", block, re.S)
            if options:   # the combo's labels: ComfyUI looks them up as settings.<id>.options.<label>
                labels = [js_string(m) for m in re.findall(r"\btext:\s*(" + STRING + ")", options.group(1))]
                labels = labels or [js_string(m) for m in re.findall(STRING, options.group(1))]
                entry["options"] = {label.replace(".", "_"): label for label in labels}
            category = re.search(r"\bcategory:\s*\[([^\]]*)\]", block)
            if category:
                entry["category"] = [js_string(s) for s in re.findall(STRING, category.group(1))]
            if "name" in entry:
                entries[setting_id] = entry
    return entries


def setting_ids(sources: dict) -> set[str]:
    """Setting ids the extension declares: the "RunComfy." strings of constants named *SETTING*
    (`SETTING_ID = "..."`, `SETTING_IDS = Object.freeze({...})`)."""
    ids = set()
    for source in sources.values():
        for match in re.finditer(r"\bconst\s+[A-Z0-9_]*SETTING[A-Z0-9_]*\s*=\s*([^;]*);", source):
            ids.update(v for v in map(js_string, re.findall(STRING, match.group(1))) if v.startswith("RunComfy."))
    return ids


def category_literals(sources: dict) -> list[str]:
    """Settings category names held in constants named *CATEGORY* (settings built by a function)."""
    parts = []
    for source in sources.values():
        for match in re.finditer(r"\bconst\s+[A-Z0-9_]*CATEGORY[A-Z0-9_]*\s*=\s*\[([^\]]*)\]", source):
            parts += [js_string(s) for s in re.findall(STRING, match.group(1))][:2]
    return parts
