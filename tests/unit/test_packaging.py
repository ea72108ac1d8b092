"""setup.py ships every file the app reads, and says nothing while doing so (issue 17: `make run`
printed some 400 lines of setuptools' "Package would be ignored" around the demo keys)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shipped_files(folder: Path) -> set[str]:
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_build_ships_every_package_file_without_a_warning(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "egg_info",
            "--egg-base",
            str(tmp_path),
            "build_py",
            "-d",
            str(tmp_path / "lib"),
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    output = build.stdout + build.stderr
    assert "would be ignored" not in output and "Warning" not in output, output
    assert _shipped_files(tmp_path / "lib" / "polybanking") == _shipped_files(ROOT / "polybanking")
