"""Shared by the browser tests: Debian's Chromium for Playwright, and the processes they drive.

Debian's Chromium driven by Playwright (never a downloaded browser); ``.ci/run`` installs it.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from .conftest import app_settings_for
from .inifile import write_ini

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    """Chromium on the machine's real clock: the shopper's browser is not the server, and
    libfaketime (``.ci/moved-clock``) makes Chromium's own timers spin."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "LD_PRELOAD" and not name.startswith("FAKETIME")
    }
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)


def skip_without_chromium() -> None:
    """Call at module level: outside CI a machine without Chromium skips; in CI it must be there."""
    if not shutil.which(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process, timeout: float = 30, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text() if log else process.stdout.read()
            raise AssertionError(f"{process.args} exited early:\n{output}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@contextmanager
def serving(command: list[str], url: str, log: Path, **popen):
    """Run ``command`` (its output to ``log``, which no full pipe can block) until the block ends;
    yields once ``url`` answers."""
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, **popen)
        try:
            wait_until_up(url, process, log=log)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def own_gateway(tmp_path: Path, base_settings: dict) -> tuple[str, list[str]]:
    """An ini on its own SQLite database and port (logging INFO, as development.ini), initialised;
    its base URL and the ``polybanking --ini …`` command line."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = app_settings_for(
        base_settings,
        url,
        **{
            "sqlalchemy.url": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "huey.backend": "sqlite",
            "huey.filename": str(tmp_path / "demo-huey.sqlite"),
            "huey.immediate": "false",
        },
    )
    ini = write_ini(tmp_path / "demo.ini", settings, listen=f"127.0.0.1:{port}")
    cli = [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini]
    subprocess.run([*cli, "initdb"], check=True, capture_output=True)
    return url, cli


@contextmanager
def demo_gateway(tmp_path: Path, base_settings: dict):
    """`polybanking demo` (gateway + sandbox + demo shop + worker) on its own SQLite database and port,
    as `make run` starts it; yields (base URL, the ``polybanking --ini …`` command line)."""
    url, cli = own_gateway(tmp_path, base_settings)
    with serving([*cli, "demo"], f"{url}/sandbox/shop/", tmp_path / "demo.log"):
        yield url, cli
