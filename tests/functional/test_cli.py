"""The ``polybanking`` console script, run for real in a subprocess against a temporary ini.

Each run costs an interpreter start-up, so runs are shared through module fixtures and the error
cases run side by side.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from ..conftest import ROOT, TESTING_INI
from ..unit.test_migrations import SQLITE_TABLES  # every table the migrations create on SQLite

SCRIPT = ROOT / ".venv" / "bin" / "polybanking"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "polybanking.scripts.cli"]
URLS = {
    "--url-ipn": "https://shop.example.org/ipn",
    "--url-back-ok": "https://shop.example.org/ok",
    "--url-back-err": "https://shop.example.org/err",
}


def write_ini(folder: Path) -> Path:
    """testing.ini with a database and a Huey queue of its own, in ``folder``."""
    lines = []
    for line in Path(TESTING_INI).read_text().splitlines():
        if line.startswith("sqlalchemy.url"):
            line = f"sqlalchemy.url = sqlite:///{folder / 'cli.sqlite'}"
        elif line.startswith("huey.backend"):
            line = f"huey.backend = sqlite\nhuey.filename = {folder / 'huey.sqlite'}"
        lines.append(line.replace("%(here)s", str(ROOT)))  # alembic's script_location
    ini = folder / "cli.ini"
    ini.write_text("\n".join(lines) + "\n")
    return ini


def start(*args: str, ini: Path | None = None, env: dict | None = None, cwd: Path | None = None):
    """Start the command; POLYBANKING_* variables of the caller never leak in."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLYBANKING_")}
    environ.update(env or {})
    command = [*COMMAND, *(["--ini", str(ini)] if ini else []), *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ, cwd=cwd
    )


def finish(process) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run(*args: str, **options) -> subprocess.CompletedProcess:
    return finish(start(*args, **options))


def create_args(name: str, *extra: str, urls: dict | None = None) -> list[str]:
    pairs = [item for option, url in (urls or URLS).items() for item in (option, url)]
    return ["config", "create", "--name", name, *pairs, "--json", *extra]


def created(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout


def config_names(folder: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{folder / 'cli.sqlite'}")
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT name FROM configs ORDER BY id")))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def ini(folder) -> Path:
    """An ini whose database has the schema (initdb run once)."""
    ini = write_ini(folder)
    result = run("initdb", ini=ini)
    assert result.returncode == 0, result.stderr
    return ini


@pytest.fixture(scope="module")
def shop(ini) -> dict:
    """A test-mode config created by the command."""
    return created(run(*create_args("Shop one"), ini=ini))


def test_initdb_creates_the_schema_and_can_run_twice(tmp_path):
    ini = write_ini(tmp_path)
    for _ in range(2):
        result = run("initdb", ini=ini)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == SQLITE_TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_config_create_prints_one_json_object(shop):
    assert set(shop) == {
        "id",
        "name",
        "key_request",
        "key_ipn",
        "key_api",
        "test_mode",
        "api_refunds",
        "platform",
        "ipn_format",
    }
    assert shop["api_refunds"] is False
    assert shop["platform"] == "epayment"
    assert shop["ipn_format"] == "form"  # the body the 2014 websites read
    assert isinstance(shop["id"], int)
    assert shop["name"] == "Shop one"
    assert shop["test_mode"] is True
    keys = [shop["key_request"], shop["key_ipn"], shop["key_api"]]
    for key in keys:
        assert len(key) >= 128
        assert all(c in "0123456789abcdef" for c in key)
    assert len(set(keys)) == 3


def test_api_refunds_are_switched_on_only_when_asked(ini, shop):
    refunding = created(run(*create_args("Refunding shop", "--api-refunds"), ini=ini))
    assert refunding["api_refunds"] is True


def test_live_config_has_new_secrets(ini, shop):
    live = created(run(*create_args("Live shop", "--live"), ini=ini))
    assert live["test_mode"] is False
    assert live["id"] != shop["id"]
    secrets = ("key_request", "key_ipn", "key_api")
    assert {shop[k] for k in secrets}.isdisjoint(live[k] for k in secrets)


def test_checkout_config(ini):
    checkout = created(run(*create_args("Checkout shop", "--platform", "checkout"), ini=ini))
    assert checkout["platform"] == "checkout" and checkout["test_mode"] is True


def test_json_ipn_config(ini):
    assert created(run(*create_args("JSON shop", "--ipn-format", "json"), ini=ini))["ipn_format"] == "json"


def test_reuse_returns_the_existing_config(ini, shop, folder):
    before = config_names(folder)
    assert created(run(*create_args("Shop one", "--reuse"), ini=ini)) == shop
    assert config_names(folder) == before


def test_polybanking_ini_is_used_without_ini_option(ini, folder, tmp_path):
    # Run elsewhere, so a development.ini in the working directory cannot be picked up instead.
    config = created(run(*create_args("From env"), env={"POLYBANKING_INI": str(ini)}, cwd=tmp_path))
    assert config["name"] == "From env"
    assert "From env" in config_names(folder)


ERROR_CASES = {
    "bad --url-ipn": (create_args("Bad", urls={**URLS, "--url-ipn": "javascript:alert(1)"}), "--url-ipn"),
    "bad --url-back-err": (
        create_args("Bad", urls={**URLS, "--url-back-err": "shop.example.org"}),
        "--url-back-err",
    ),
    "empty name": (create_args(""), "--name"),
    "missing ini": (["initdb"], "nowhere.ini"),
    "database without schema": (create_args("Shop"), "initdb"),
    "checkout without its settings": (create_args("Shop", "--platform", "checkout"), "checkout.test.*"),
}


@pytest.fixture(scope="module")
def error_runs(ini, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every error case, run side by side."""
    empty = tmp_path_factory.mktemp("empty")
    without_checkout = write_ini(tmp_path_factory.mktemp("without-checkout"))
    lines = without_checkout.read_text().splitlines()
    without_checkout.write_text("\n".join(line for line in lines if not line.startswith("checkout.")) + "\n")
    inis = {
        "missing ini": empty / "nowhere.ini",
        "database without schema": write_ini(empty),
        "checkout without its settings": without_checkout,
    }
    processes = {case: start(*args, ini=inis.get(case, ini)) for case, (args, _word) in ERROR_CASES.items()}
    return {case: finish(process) for case, process in processes.items()}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_is_one_line_and_exit_code_2(error_runs, case):
    result = error_runs[case]
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("polybanking: ")
    assert ERROR_CASES[case][1] in lines[0]


def test_database_error_shows_no_sql(error_runs):
    # The failed INSERT's parameters are the new config's secrets.
    assert "INSERT" not in error_runs["database without schema"].stderr


def test_refused_configs_are_not_stored(error_runs, folder):
    assert "Bad" not in config_names(folder)


def test_a_private_ipn_url_is_refused_unless_the_ini_allows_it(ini, folder):
    """Production (no allowance): the IPN URL must be a public address, spelled any way."""
    production = {"POLYBANKING_IPN_ALLOW_PRIVATE_DESTINATIONS": "false"}
    for url in (
        "http://127.0.0.1:8080/ipn",
        "http://0x7f000001/ipn",
        "http://[::1]/ipn",
        "http://localhost/",
    ):
        result = run(*create_args("Inside", urls={**URLS, "--url-ipn": url}), ini=ini, env=production)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("polybanking: --url-ipn must be a public address"), result.stderr
        assert "ipn.allow_private_destinations" in result.stderr
    assert "Inside" not in config_names(folder)
    # The return URLs are the shopper's browser's business, and the suite's ini allows loopback.
    created(
        run(
            *create_args("Local", urls={**URLS, "--url-back-ok": "http://127.0.0.1/ok"}),
            ini=ini,
            env=production,
        )
    )
    created(run(*create_args("Dev", urls={**URLS, "--url-ipn": "http://127.0.0.1:8080/ipn"}), ini=ini))
