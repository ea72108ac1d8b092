"""``polybanking user create`` (password on stdin) and ``polybanking config allow/deny``.

The set-up runs the real console script (in subprocesses, side by side); the other cases call the
same ``main(argv)`` in-process, since each interpreter start-up costs seconds on a busy machine.
"""

import io
import json
import os
import subprocess

import pytest
from sqlalchemy import create_engine, text

from polybanking.auth.passwords import verify_password
from polybanking.scripts import cli

from .test_cli import COMMAND, create_args, created, finish, run, start, write_ini

GOOD_PASSWORD = "a good long password\n"


def start_with_stdin(*args, ini, stdin: str) -> tuple[subprocess.Popen, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLYBANKING_")}
    process = subprocess.Popen(
        [*COMMAND, "--ini", str(ini), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    return process, stdin


def finish_with_stdin(started: tuple[subprocess.Popen, str]) -> subprocess.CompletedProcess:
    process, stdin = started
    stdout, stderr = process.communicate(stdin, timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A database with a config, a superuser ``root`` and a user ``webmaster``, made by the command."""
    folder = tmp_path_factory.mktemp("cli-admin")
    ini = write_ini(folder)
    assert run("initdb", ini=ini).returncode == 0
    shop = start(*create_args("Shop"), ini=ini)
    users = [
        start_with_stdin("user", "create", "--username", "root", "--superuser", ini=ini, stdin=GOOD_PASSWORD),
        start_with_stdin("user", "create", "--username", "webmaster", ini=ini, stdin=GOOD_PASSWORD),
    ]
    results = [finish_with_stdin(started) for started in users]
    return folder, ini, created(finish(shop)), results


def query(folder, sql: str) -> list:
    engine = create_engine(f"sqlite:///{folder / 'cli.sqlite'}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def test_user_create_reads_the_password_from_stdin(setup):
    folder, _ini, _shop, results = setup
    for result, name in zip(results, ("root", "webmaster"), strict=True):
        assert result.returncode == 0, result.stderr
        assert f"user {name} created" in result.stdout
        assert "a good long password" not in result.stdout + result.stderr
    rows = query(
        folder, "SELECT username, password_hash, is_superuser, is_staff FROM users ORDER BY username"
    )
    assert [(name, superuser, staff) for name, _hash, superuser, staff in rows] == [
        ("root", 1, 0),
        ("webmaster", 0, 0),
    ]
    assert all(verify_password(password_hash, "a good long password") for _n, password_hash, _s, _t in rows)


@pytest.fixture
def polybanking(setup, capsys, monkeypatch):
    """Run ``polybanking --ini INI ARGS`` in-process with ``stdin``; returns (exit code, out, err)."""
    _folder, ini, _shop, _results = setup
    monkeypatch.delenv("POLYBANKING_INI", raising=False)

    def call(*args, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(["--ini", str(ini), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_config_allow_and_deny(setup, polybanking):
    folder, _ini, shop, _results = setup
    code, out, _err = polybanking("config", "allow", "--config", str(shop["id"]), "--user", "webmaster")
    assert code == 0 and "webmaster allowed on config" in out
    assert query(folder, "SELECT count(*) FROM config_allowed_users")[0][0] == 1
    assert (
        "no change" in polybanking("config", "allow", "--config", str(shop["id"]), "--user", "WebMaster")[1]
    )
    code, _out, _err = polybanking("config", "deny", "--config", str(shop["id"]), "--user", "webmaster")
    assert code == 0
    assert query(folder, "SELECT count(*) FROM config_allowed_users")[0][0] == 0
    logs = [row[0] for row in query(folder, "SELECT text FROM config_logs ORDER BY id")]
    assert logs[-2:] == ["allowed: webmaster", "no longer allowed: webmaster"]


@pytest.mark.parametrize(
    "args,stdin",
    [
        (("user", "create", "--username", "empty"), ""),
        (("user", "create", "--username", "blank"), "\n"),
        (("user", "create", "--username", "short"), "short\n"),
        (("user", "create", "--username", "ROOT", "--staff"), GOOD_PASSWORD),
        (("user", "create", "--username", "bad name"), GOOD_PASSWORD),
        (("config", "allow", "--config", "999", "--user", "webmaster"), ""),
        (("config", "allow", "--config", "x", "--user", "webmaster"), ""),
        (("config", "deny", "--config", "99999999999999999999", "--user", "webmaster"), ""),
        (("config", "deny", "--config", "1", "--user", "nobody"), ""),
    ],
)
def test_errors_are_one_line_and_change_nothing(setup, polybanking, args, stdin):
    folder = setup[0]
    before = query(folder, "SELECT count(*) FROM users")[0][0]
    code, _out, err = polybanking(*args, stdin=stdin)
    assert code == 2 and err.startswith("polybanking: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "a good long password" not in err
    assert query(folder, "SELECT count(*) FROM users")[0][0] == before


def test_a_config_is_named_by_its_number_or_its_exact_name_everywhere(setup, polybanking):
    folder, _ini, shop, _results = setup
    code, out, err = polybanking("config", "allow", "--config", "Shop", "--user", "webmaster")
    assert code == 0 and "webmaster allowed on config Shop" in out, err
    assert query(folder, "SELECT config_id FROM config_allowed_users") == [(shop["id"],)]
    assert polybanking("config", "deny", "--config", "Shop", "--user", "webmaster")[0] == 0
    code, _out, err = polybanking("config", "allow", "--config", "shop", "--user", "webmaster")  # exact only
    assert code == 2 and "no config numbered or named 'shop'" in err


def test_two_configs_never_get_the_same_name(setup, polybanking):
    folder = setup[0]
    before = query(folder, "SELECT count(*) FROM configs")[0][0]
    code, _out, err = polybanking(*create_args("Shop"))
    assert code == 2 and "already named 'Shop'" in err and len(err.strip().splitlines()) == 1
    assert query(folder, "SELECT count(*) FROM configs")[0][0] == before
    code, out, _err = polybanking(*create_args("Shop"), "--reuse")  # make run's demo config, again
    assert code == 0 and query(folder, "SELECT count(*) FROM configs")[0][0] == before


def test_config_list_shows_every_config_without_its_keys(setup, polybanking):
    _folder, _ini, shop, _results = setup
    code, out, _err = polybanking("config", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert {"id": shop["id"], "name": "Shop"}.items() <= next(
        c for c in listed if c["id"] == shop["id"]
    ).items()
    assert not any(key.startswith("key_") for config in listed for key in config)
    assert shop["key_api"] not in out
    code, out, _err = polybanking("config", "list")
    assert code == 0 and f"{shop['id']:>5}  Shop, test" in out and shop["key_api"] not in out
