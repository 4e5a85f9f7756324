"""What ComfyUI-Manager and the Comfy Registry read, and a light, offline import."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from pack_loader import PACK_DIR


def normalise(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_requirements_and_pyproject_state_the_same_dependencies():
    project = tomllib.loads((PACK_DIR / "pyproject.toml").read_text())["project"]
    lines = [line for line in (PACK_DIR / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert sorted(lines) == sorted(project["dependencies"])
    assert {normalise(x) for x in lines} >= {"requests", "pillow", "numpy", "opencv-python"}


def test_registry_metadata():
    data = tomllib.loads((PACK_DIR / "pyproject.toml").read_text())
    project, comfy = data["project"], data["tool"]["comfy"]
    assert "comfyui" not in project["name"].lower()
    for key in ("version", "description", "license", "urls"):
        assert project[key]
    for key in ("PublisherId", "DisplayName", "Icon"):
        assert comfy[key]
    assert "web" not in comfy  # WEB_DIRECTORY already serves web/; both would load it twice
    assert (PACK_DIR / "LICENSE").is_file() and (PACK_DIR / "CHANGELOG.md").is_file()
    assert (PACK_DIR / "web" / "icon.png").is_file()


def test_importing_the_pack_is_light_and_offline():
    code = f"""
import socket, sys
def refuse(*a, **k):
    raise AssertionError("network use at import")
socket.socket.connect = refuse
socket.create_connection = refuse
sys.path.insert(0, {str(PACK_DIR / 'tests')!r})
from pack_loader import load_pack
pack = load_pack()
assert len(pack.NODE_CLASS_MAPPINGS) >= 3
heavy = [name for name in ("torch", "av") if name in sys.modules]
assert not heavy, heavy
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
