"""``polybanking ipn status`` and ``polybanking ipn resend``, run for real in subprocesses against a
database and a queue of their own (see test_cli.py)."""

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from huey import SqliteHuey
from sqlalchemy import select

from polybanking import main
from polybanking.models import (
    Config,
    IpnAttempt,
    Transaction,
    TransactionLog,
    get_engine,
    get_session_factory,
)
from polybanking.services.ipn import report as ipn_report
from polybanking.settings import SettingsError

from .test_cli import finish, run, start, write_ini

LAST_WEEK = datetime.now(UTC) - timedelta(days=7)
YESTERDAY = datetime.now(UTC) - timedelta(days=1)


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> Path:
    """A database file with the schema, made once (each command run costs an interpreter start)."""
    folder = tmp_path_factory.mktemp("ipn-schema")
    assert run("initdb", ini=write_ini(folder)).returncode == 0
    return folder / "cli.sqlite"


@pytest.fixture
def folder(tmp_path, schema):
    """A copy of that database, and a real queue (not run immediately): messages stay there."""
    ini = write_ini(tmp_path)
    ini.write_text(ini.read_text().replace("huey.immediate = true", "huey.immediate = false"))
    shutil.copy(schema, tmp_path / "cli.sqlite")
    return tmp_path


@pytest.fixture
def ini(folder):
    return folder / "cli.ini"


@pytest.fixture
def factory(folder):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{folder / 'cli.sqlite'}"})
    yield get_session_factory(engine)
    engine.dispose()


def attempt(transaction, when, **result):
    return IpnAttempt(
        transaction=transaction, attempted_at=when, duration_ms=12, postfinance_status="9", **result
    )


@pytest.fixture
def outbox(factory):
    """Two configs; IPNs failed (a week ago and yesterday), pending, and delivered."""
    with factory.begin() as session:
        shop = Config(name="Shop", url_ipn="http://127.0.0.1:9/ipn")
        other = Config(name="Other", url_ipn="http://127.0.0.1:9/ipn")

        def add(config, reference, **outbox_state):
            transaction = Transaction(
                config=config, reference=reference, amount=100, postfinance_status="9", **outbox_state
            )
            session.add(transaction)
            return transaction

        old = add(
            shop, "old-fail", ipn_needed=True, ipn_failed=True, ipn_attempts=11, last_ipn_date=LAST_WEEK
        )
        session.add(attempt(old, LAST_WEEK, success=False, http_status=500))
        new = add(
            other, "new-fail", ipn_needed=True, ipn_failed=True, ipn_attempts=11, last_ipn_date=YESTERDAY
        )
        session.add(attempt(new, YESTERDAY, success=False, error="ConnectTimeout: too slow"))
        soon = YESTERDAY + timedelta(days=2)
        waiting = add(shop, "waiting", ipn_needed=True, ipn_attempts=2, ipn_next_attempt_at=soon)
        session.add(attempt(waiting, YESTERDAY, success=False, error="ConnectionError: refused"))
        add(shop, "delivered", ipn_needed=False, ipn_attempts=1)
        session.flush()
        return {t.reference: t.id for t in (old, new, waiting)} | {"shop": shop.id, "other": other.id}


def state(factory, transaction_id):
    with factory.begin() as session:
        transaction = session.get(Transaction, transaction_id)
        logs = session.scalars(
            select(TransactionLog.extra_data).where(
                TransactionLog.transaction_id == transaction_id, TransactionLog.log_type == "ipnResend"
            )
        ).all()
        return transaction.ipn_needed, transaction.ipn_failed, transaction.ipn_attempts, logs


def queued(folder) -> int:
    return SqliteHuey("polybanking", filename=str(folder / "huey.sqlite")).pending_count()


def test_status_lists_failed_and_pending_with_their_last_result(ini, outbox):
    text, as_json = finish(start("ipn", "status", ini=ini)), finish(start("ipn", "status", "--json", ini=ini))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "IPNs pending: 1, failed: 2"
    failed_at, pending_at = (
        next(i for i, line in enumerate(lines) if line.startswith("Failed")),
        lines.index("Pending:"),
    )
    failed_rows, pending_rows = lines[failed_at + 2 : pending_at - 1], lines[pending_at + 2 :]
    assert [row.split()[2] for row in failed_rows] == ["new-fail", "old-fail"]  # latest first
    assert "could not connect within" in failed_rows[0] and "answered HTTP 500" in failed_rows[1]
    assert len(pending_rows) == 1 and "waiting" in pending_rows[0] and "could not connect" in pending_rows[0]
    # Times for people: the organisation's (testing.ini: Zurich), with the offset.
    local = YESTERDAY.astimezone(ZoneInfo("Europe/Zurich")).isoformat(" ", "seconds")
    assert local in failed_rows[0] and "+00:00" not in text.stdout
    assert "delivered" not in text.stdout

    data = json.loads(as_json.stdout)
    assert (data["pending"], data["failed"]) == (1, 2)
    (pending,) = data["pending_ipns"]
    assert pending["reference"] == "waiting" and pending["attempts"] == 2
    assert (
        pending["next_attempt_at"].endswith("+00:00") and pending["last_result"] == "ConnectionError: refused"
    )
    assert pending["last_result_text"] == "could not connect: connection refused"  # the raw one beside it
    assert [entry["config_name"] for entry in data["failed_ipns"]] == ["Other", "Shop"]


def test_resend_one_by_reference_and_config(ini, outbox, factory, folder):
    result = run("ipn", "resend", "--reference", "old-fail", "--config", str(outbox["shop"]), ini=ini)
    assert result.returncode == 0, result.stderr
    assert "old-fail" in result.stdout
    assert state(factory, outbox["old-fail"]) == (True, False, 0, ["resend requested by the command line"])
    assert state(factory, outbox["new-fail"])[:3] == (True, True, 11)  # the other one is left alone
    assert queued(folder) == 1  # send_ipn, for the worker


def test_configs_are_found_by_number_or_name(outbox, factory):
    with factory.begin() as session:
        session.add(Config(name=str(outbox["other"])))  # a config named like another's number
        session.add(Transaction(config=Config(name="Other"), reference="new-fail", amount=1))

        def found(config, reference):
            return [t.id for t in ipn_report.find_transactions(session, config, reference)]

        assert found(str(outbox["other"]), "new-fail") == [outbox["new-fail"]]  # the number wins
        assert found("Shop", "waiting") == [outbox["waiting"]]
        assert len(found("Other", "new-fail")) == 2  # two configs named Other: ambiguous
        assert found("Shop", "new-fail") == [] and found("99999999999", "waiting") == []


def test_resend_failed_since_a_date(ini, outbox, factory, folder):
    since = (YESTERDAY - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    result = run("ipn", "resend", "--failed", "--since", since, ini=ini)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 failed IPN(s) queued for resend"
    assert state(factory, outbox["new-fail"])[:3] == (True, False, 0)
    assert state(factory, outbox["old-fail"])[:3] == (True, True, 11)  # failed before --since
    assert queued(folder) == 1

    everything = run("ipn", "resend", "--failed", ini=ini)
    assert everything.stdout.strip() == "1 failed IPN(s) queued for resend"  # the old one is left
    assert state(factory, outbox["old-fail"])[:3] == (True, False, 0)


ERRORS = {
    "unknown reference": (["--reference", "nope", "--config", "Shop"], "no transaction 'nope'"),
    "unknown config": (["--reference", "waiting", "--config", "999"], "no transaction"),
    "reference without config": (["--reference", "waiting"], "--reference needs --config"),
    "bad date": (["--failed", "--since", "last tuesday"], "--since must be a date"),
    "since with reference": (
        ["--reference", "waiting", "--config", "Shop", "--since", "2026-01-01"],
        "--since",
    ),
}


def test_resend_errors_are_one_line_and_change_nothing(ini, outbox, factory, folder):
    processes = {case: start("ipn", "resend", *args, ini=ini) for case, (args, _word) in ERRORS.items()}
    for case, process in processes.items():
        result = finish(process)
        assert result.returncode == 2, (case, result.stderr)
        assert result.stdout == "" and "Traceback" not in result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("polybanking: ") and ERRORS[case][1] in line, case
    assert state(factory, outbox["waiting"]) == (True, False, 2, [])
    assert queued(folder) == 0


def test_a_bad_ipn_setting_stops_the_worker_and_the_app_naming_the_key(ini, app_settings):
    ini.write_text(
        ini.read_text().replace("ipn.timeout = 5", "ipn.timeout = 5\nipn.retry_schedule = 5s soon")
    )
    worker = run("worker", ini=ini)
    assert worker.returncode == 2 and "Traceback" not in worker.stderr
    (line,) = worker.stderr.strip().splitlines()
    assert line.startswith("polybanking: ") and "ipn.retry_schedule" in line and "'soon'" in line
    with pytest.raises(SettingsError, match="ipn.timeout"):
        main({}, **{**app_settings, "ipn.timeout": "-1"})
