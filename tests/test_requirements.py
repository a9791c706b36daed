"""Runtime and development requirements are separate: production installs requirements.txt only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Development-only top-level modules: a runtime module importing one would fail in the production image.
DEV_ONLY = [
    "pytest",
    "pytest_django",
    "hypothesis",
    "schemathesis",
    "playwright",
    "Bio",
    "ruff",
    "matplotlib",
    "pandas",
]

IMPORT_EVERY_RUNTIME_MODULE = """
import importlib, pkgutil, sys

class Forbid:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {dev!r}:
            raise ImportError(f"runtime code imports the development package {{name}}")
        return None

sys.meta_path.insert(0, Forbid())
import django
django.setup()
import evidence, pooling
for package in (evidence, pooling):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
print("ok")
"""


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith(("#", "-r")))


def test_the_runtime_file_names_no_development_tool():
    runtime = {name.lower() for name in _pins("requirements.txt")}
    dev = {name.lower() for name in _pins("requirements-dev.txt")}
    for tool in ("pytest", "pytest-django", "schemathesis", "playwright", "hypothesis", "biopython", "ruff"):
        assert tool not in runtime, f"{tool} belongs in requirements-dev.txt"
        assert tool in dev, f"{tool} must be pinned in requirements-dev.txt"


def test_the_development_file_includes_the_runtime_one_and_pins_each_package_once():
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert not set(_pins("requirements.txt")) & set(_pins("requirements-dev.txt"))


def test_the_image_installs_the_runtime_and_make_installs_both_for_test_lint_and_bench():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.txt" in dockerfile and "requirements-dev" not in dockerfile
    assert "-r requirements-dev.txt" in makefile
    for target in ("test", "lint", "bench"):
        assert f"\n{target}: $(DEV_STAMP)" in makefile, f"make {target} must install requirements-dev.txt"


def test_runtime_code_imports_no_development_package():
    probe = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_RUNTIME_MODULE.format(dev=DEV_ONLY)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "evidence.config.settings"},
    )  # fmt: skip
    assert probe.stdout.strip().endswith("ok"), probe.stderr[-2000:]
