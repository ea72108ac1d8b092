"""The layout of DESIGN.md, kept by import-linter's contracts in pyproject.toml: no import circle
anywhere in polybanking, and imports flowing one way (views and tasks → services → models →
platforms and signing)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=folder,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_polybanking_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "No import circle anywhere in polybanking KEPT" in result.stdout


def test_the_circle_contract_finds_a_circle_two_folders_deep(tmp_path):
    package = tmp_path / "circles" / "inner"
    package.mkdir(parents=True)
    (tmp_path / "circles" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "spec.py").write_text("from . import writers\n")
    (package / "writers.py").write_text("from .spec import writers\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = circles\n\n"
        "[importlinter:contract:circles]\nname = no circles\ntype = acyclic_siblings\nancestors = circles\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no circles BROKEN" in result.stdout
