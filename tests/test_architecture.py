"""The layout the maintainers rely on: the core knows nothing of ComfyUI or torch, every ComfyUI
lookup sits in nodes/comfy_bridge.py, no import runs in a circle, the sandbox stands apart from
the pack it tests, and no module grows past 300 lines. The web extension's modules (web/js) are
held to the same size and import no circle, and every name one imports from another is exported."""
from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

from pack_loader import PACK_DIR

COMFY_MODULES = {"comfy", "comfy_api", "comfy_execution", "comfy_extras", "folder_paths", "server",
                 "execution", "nodes", "latent_preview", "node_helpers", "torch", "torchaudio"}
BRIDGE = "nodes/comfy_bridge.py"
MAX_LINES = 300


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACK_DIR / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(PACK_DIR).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Modules ``path`` imports (absolute names; the pack's own as ``core.x``, ``nodes.y``), from
    import statements anywhere in the file and from ``importlib.import_module("...")`` calls."""
    tree = ast.parse(path.read_text("utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                found.add(target)
                if not node.module:  # "from . import x": x may be a module
                    found.update(f"{target}.{alias.name}" if target else alias.name for alias in node.names)
            else:
                found.add(node.module or "")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return {name for name in found if name}


def top(name: str) -> str:
    return name.split(".")[0]


def test_the_core_imports_nothing_of_comfyui_torch_or_the_nodes():
    for path in sources("core"):
        bad = {name for name in imports_of(path) if top(name) in COMFY_MODULES and name != "nodes"}
        bad |= {name for name in imports_of(path) if name == "nodes" or name.startswith("nodes.")}
        assert not bad, f"{path.relative_to(PACK_DIR)} imports {sorted(bad)}"


def test_every_comfyui_lookup_is_in_the_bridge():
    own = {module_name(p) for p in sources("core", "nodes")}
    for path in sources("nodes"):
        if path.relative_to(PACK_DIR).as_posix() == BRIDGE:
            continue
        foreign = {name for name in imports_of(path) if top(name) in COMFY_MODULES and name not in own}
        assert not foreign, f"{path.relative_to(PACK_DIR)} looks up {sorted(foreign)}: only {BRIDGE} may"


def test_the_sandbox_is_independent_of_the_pack():
    for path in sources("sandbox"):
        mine = {name for name in imports_of(path) if top(name) in ("core", "nodes")}
        assert not mine, f"{path.relative_to(PACK_DIR)} imports {sorted(mine)}"


def test_no_import_cycles():
    paths = sources("core", "nodes")
    own = {module_name(p): p for p in paths}
    graph = {name: {dep for dep in imports_of(path) if dep in own and dep != name}
             for name, path in own.items()}
    # a package's __init__ importing its own modules is not a cycle back from them
    for name in graph:
        graph[name] = {dep for dep in graph[name] if not name.startswith(dep + ".") or own[dep].name != "__init__.py"}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join(trail[trail.index(dep):] + [name, dep])
                            if dep in trail else f"import cycle through {name} -> {dep}")
            if dep not in state:
                visit(dep, trail + [name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("folder", ["core", "nodes", "sandbox", "scripts", "benchmarks", "tests"])
def test_no_module_is_over_300_lines(folder):
    long = {p.relative_to(PACK_DIR).as_posix(): n for p in sources(folder)
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by topic: {long}"


# --- the web extension (web/js/*.js, ES modules) ---------------------------------------------------
WEB_JS = PACK_DIR / "web" / "js"
# `import { a, b as c } from "./x.js";` and `import "./x.js";`: the extension's own modules (ComfyUI's
# are "../../../scripts/...", outside web/js); regular expressions, the modules are written in one style
JS_IMPORT = re.compile(r"""^import\s+(?:(?P<what>[^;"'`]*?)\s+from\s+)?["'](?P<path>\./[^"']+)["']""", re.M)
JS_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+([\w$]+)", re.M)
JS_EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}", re.M)


def web_modules() -> dict[str, str]:
    return {path.name: path.read_text("utf-8") for path in sorted(WEB_JS.glob("*.js"))}


def web_imports(source: str) -> dict[str, set[str]]:
    """{sibling module: the names imported from it} of one web module."""
    found: dict[str, set[str]] = {}
    for match in JS_IMPORT.finditer(source):
        names = found.setdefault(match["path"][2:], set())
        what = match["what"] or ""
        if "{" in what:
            inner = what[what.index("{") + 1:what.rindex("}")]
            names.update(part.split(" as ")[0].strip() for part in inner.split(",") if part.strip())
    return found


def web_exports(source: str) -> set[str]:
    names = set(JS_EXPORT.findall(source))
    for listed in JS_EXPORT_LIST.findall(source):
        names.update(part.split(" as ")[-1].strip() for part in listed.split(",") if part.strip())
    return names


def test_the_web_import_reader_reads_the_styles_in_use():
    source = ('import { a, b as c,\n  d } from "./x.js";\nimport "./y.js";\n'
              'import { app } from "../../../scripts/app.js";\n')
    assert web_imports(source) == {"x.js": {"a", "b", "d"}, "y.js": set()}
    exports = "export const A = 1;\nexport async function f() {}\nexport { g, h as k };\n"
    assert web_exports(exports) == {"A", "f", "g", "k"}


def test_no_web_module_is_over_300_lines():
    modules = web_modules()
    assert modules, f"no web modules in {WEB_JS}"
    long = {name: n for name, source in modules.items() if (n := len(source.splitlines())) > MAX_LINES}
    assert not long, f"split these by topic: {long}"


def test_web_modules_import_what_their_siblings_export_and_no_cycle():
    modules = web_modules()
    graph = {}
    for name, source in modules.items():
        imports = web_imports(source)
        for target, names in imports.items():
            assert target in modules, f"web/js/{name} imports ./{target}, which does not exist"
            missing = names - web_exports(modules[target])
            assert not missing, f"web/js/{name} imports {sorted(missing)} from ./{target}, which does not export them"
        graph[name] = set(imports)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail("web import cycle: " + " -> ".join(error.args[1]))
