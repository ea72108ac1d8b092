"""``polybanking user create`` (password on stdin) and ``polybanking config allow/deny``, run for real."""

import os
import subprocess

import pytest
from sqlalchemy import create_engine, text

from polybanking.auth.passwords import verify_password

from .test_cli import COMMAND, create_args, created, finish, run, start, write_ini


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-admin")
    ini = write_ini(folder)
    assert run("initdb", ini=ini).returncode == 0
    shop = created(run(*create_args("Shop"), ini=ini))
    return folder, ini, shop


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


def with_stdin(*args, ini, stdin: str) -> subprocess.CompletedProcess:
    return finish_with_stdin(start_with_stdin(*args, ini=ini, stdin=stdin))


def query(folder, sql: str) -> list:
    engine = create_engine(f"sqlite:///{folder / 'cli.sqlite'}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def test_user_create_reads_the_password_from_stdin(setup):
    folder, ini, _shop = setup
    result = with_stdin(
        "user", "create", "--username", "root", "--superuser", ini=ini, stdin="a good long password\n"
    )
    assert result.returncode == 0, result.stderr
    assert (
        "user root created" in result.stdout and "a good long password" not in result.stdout + result.stderr
    )
    [(password_hash, superuser, staff)] = query(
        folder, "SELECT password_hash, is_superuser, is_staff FROM users"
    )
    assert superuser and not staff and verify_password(password_hash, "a good long password")


def test_user_create_errors_are_one_line(setup):
    _folder, ini, _shop = setup
    with_stdin("user", "create", "--username", "taken", ini=ini, stdin="a good long password\n")
    started = [  # side by side: each run costs an interpreter start-up
        start_with_stdin("user", "create", "--username", "empty", ini=ini, stdin=""),
        start_with_stdin("user", "create", "--username", "short", ini=ini, stdin="short\n"),
        start_with_stdin(
            "user", "create", "--username", "TAKEN", "--staff", ini=ini, stdin="a good long password\n"
        ),
        start_with_stdin("user", "create", "--username", "bad name", ini=ini, stdin="a good long password\n"),
    ]
    for result in map(finish_with_stdin, started):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("polybanking: ")


def test_config_allow_and_deny(setup):
    folder, ini, shop = setup
    with_stdin("user", "create", "--username", "webmaster", ini=ini, stdin="a good long password\n")
    allowed = run("config", "allow", "--config", str(shop["id"]), "--user", "webmaster", ini=ini)
    assert allowed.returncode == 0, allowed.stderr
    assert query(folder, "SELECT count(*) FROM config_allowed_users")[0][0] == 1
    again = run("config", "allow", "--config", str(shop["id"]), "--user", "webmaster", ini=ini)
    assert "no change" in again.stdout
    denied = run("config", "deny", "--config", str(shop["id"]), "--user", "webmaster", ini=ini)
    assert denied.returncode == 0
    assert query(folder, "SELECT count(*) FROM config_allowed_users")[0][0] == 0
    logs = [row[0] for row in query(folder, "SELECT text FROM config_logs ORDER BY id")]
    assert logs[-2:] == ["allowed: webmaster", "no longer allowed: webmaster"]
    processes = [
        start("config", "allow", "--config", "999", "--user", "webmaster", ini=ini),
        start("config", "allow", "--config", "x", "--user", "webmaster", ini=ini),
        start("config", "deny", "--config", str(shop["id"]), "--user", "nobody", ini=ini),
    ]
    for result in map(finish, processes):
        assert (
            result.returncode == 2
            and result.stderr.startswith("polybanking: ")
            and "Traceback" not in result.stderr
        )
