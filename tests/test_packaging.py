"""The installed wheel carries every package and the data files it reads at run time (schemas, templates)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _listed_packages() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("echo/**/__init__.py")}
    found |= {"flows", "echo.schemas"}
    assert found == _listed_packages()


def test_wheel_carries_schemas_and_templates(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("echo_bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"echo/schemas/{p.relative_to(ROOT / 'schemas')}" for p in (ROOT / "schemas").rglob("*")
                if p.is_file() and p.suffix in (".sql", ".json")}
    expected |= {f"echo/llm/templates/{p.name}" for p in (ROOT / "echo/llm/templates").glob("*.txt")}
    expected |= {f"echo/report/templates/{p.name}" for p in (ROOT / "echo/report/templates").glob("*")}
    assert expected and not expected - names, sorted(expected - names)
    assert "flows/echo_flow.py" in names
