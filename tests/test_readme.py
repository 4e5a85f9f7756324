"""The README stays true: its two commands come first, its node tables match the nodes, and its
troubleshooting table covers every error a user can meet."""
from __future__ import annotations

import importlib.util
import inspect
import re

from pack_loader import PACK_DIR, load_pack, pack_module

README = (PACK_DIR / "README.md").read_text(encoding="utf-8")


def node_reference():
    spec = importlib.util.spec_from_file_location("node_reference", PACK_DIR / "scripts" / "node_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_starts_with_the_demo_and_test_commands():
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert README.index("```bash") < 200
    assert first_block[0].startswith("bash scripts/demo.sh") and first_block[1].startswith("bash scripts/test.sh")
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert (PACK_DIR / script).is_file()


def test_node_tables_match_the_node_definitions():
    reference = node_reference()
    expected = reference.replace_in(README, reference.render(load_pack()))
    assert README == expected, "README node tables are stale: run scripts/node_reference.py --write"


def test_every_error_type_has_a_troubleshooting_row():
    errors = pack_module("core.errors")
    section = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    names = [name for name, cls in inspect.getmembers(errors, inspect.isclass)
             if issubclass(cls, errors.RunComfyError) and cls is not errors.RunComfyError]
    assert len(names) > 15
    missing = [name for name in names if name not in section and name != "StoppedError"]
    assert not missing, f"errors without a troubleshooting row: {missing}"
    assert "interrupted" in section


def test_the_benchmark_figures_are_recorded():
    section = README.split("<!-- benchmark:begin -->", 1)[1].split("<!-- benchmark:end -->", 1)[0]
    assert "benchmarks/decode_benchmark.py" in section and "benchmarks/download_benchmark.py" in section
    assert len(re.findall(r"\d+\.\d+ s\**\s*\|", section)) >= 4 and "GiB" in section
