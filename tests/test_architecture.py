"""The house plan, checked: import contracts, module sizes, formatting, a TensorFlow-free server.

The contracts themselves live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked by
import-linter; the tests here run it on the real tree, and on a copy with a planted violation to
show that each kind of violation is caught and named.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
RUFF = Path(sys.executable).with_name("ruff")
MAX_MODULE_LINES = 600
MAX_PAGE_LINES = 200


def run_lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


@pytest.fixture()
def tree_copy(tmp_path) -> Path:
    """A copy of the packages the contracts cover, to plant violations in."""
    for folder in ("core", "ui", "app_pages"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold():
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract", "named"),
    [
        (
            "core/ops/kernels.py",
            "import keras",
            "only the worker package imports TensorFlow or Keras",
            "core.ops.kernels -> keras",
        ),
        (
            "core/nets/specs.py",
            "import tensorflow",
            "only the worker package imports TensorFlow or Keras",
            "core.nets.specs -> tensorflow",
        ),
        (
            "core/ops/pooling.py",
            "from core.jobs import runs",
            "core is layered",
            "core.ops.pooling -> core.jobs.runs",
        ),
        (
            "core/data/catalog.py",
            "from core.data import builtin",
            "no import cycles",
            ".catalog -> .builtin",
        ),
        (
            "core/imaging/images.py",
            "import streamlit",
            "core never imports Streamlit",
            "core.imaging.images -> streamlit",
        ),
        (
            "ui/widgets/stepper.py",
            "from core.worker import service",
            "the server side never imports the worker package",
            "ui.widgets.stepper -> core.worker.service",
        ),
    ],
)
def test_a_planted_violation_breaks_its_contract_and_is_named(
    tree_copy, module, planted, contract, named
):
    with open(tree_copy / module, "a", encoding="utf-8") as stream:
        stream.write(f"\n{planted}  # planted by the test\n")
    result = run_lint_imports(tree_copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
    assert named in broken, result.stdout


def test_the_server_side_loads_without_tensorflow_and_core_without_streamlit():
    """What the contracts check statically, checked at run time in a fresh interpreter."""
    server = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in python_files("core", "ui")
        if "worker" not in path.relative_to(ROOT).parts
    ]
    core = [module for module in server if module.startswith("core")]
    code = (
        "import importlib, json, sys\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "after_core = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'streamlit', 'plotly'))\n"
        f"for name in {server!r}: importlib.import_module(name)\n"
        "after_ui = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "print(json.dumps([after_core, after_ui]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    after_core, after_ui = json.loads(result.stdout.strip().splitlines()[-1])
    assert after_core == []
    assert after_ui == []


def test_no_module_is_over_the_size_limit():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files("core", "ui")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_page_scripts_stay_short():
    too_long = {
        path.name: lines
        for path in python_files("app_pages")
        if (lines := len(path.read_text().splitlines())) > MAX_PAGE_LINES
    }
    assert too_long == {}


def test_code_is_formatted_and_linted_by_ruff_with_no_skips():
    folders = ["app.py", "navigation.py", "core", "ui", "app_pages", "tests", "bench", "scripts"]
    formatted = subprocess.run(
        [str(RUFF), "format", "--check", *folders], cwd=ROOT, capture_output=True, text=True
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    linted = subprocess.run(
        [str(RUFF), "check", *folders], cwd=ROOT, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    skips = [
        str(path.relative_to(ROOT))
        for path in python_files("core", "ui", "app_pages", "tests", "bench", "scripts")
        if "fmt: " + "skip" in path.read_text() or "fmt: " + "off" in path.read_text()
    ]
    assert skips == []


def test_every_module_has_tests_of_its_own():
    """tests/ mirrors the tree: core/ops/pooling.py is tested in tests/core/ops/test_pooling.py."""
    untested = []
    for path in python_files("core", "ui"):
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(ROOT)
        name = "test_main.py" if path.name == "__main__.py" else f"test_{path.name}"
        if not (ROOT / "tests" / relative.parent / name).is_file():
            untested.append(str(relative))
    assert untested == []
