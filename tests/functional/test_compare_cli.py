"""``polybanking compare FILE [--live]``: the summary, the run stored, and the exit code the
treasurer's scripts rely on (0 everything matches, 1 differences, 2 the file cannot be read)."""

import csv
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from polybanking.models import Config, ReconciliationRun, Transaction

from ..reports import Line, csv_bytes
from .test_cli import finish, run, start, write_ini


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """An initialised database with one test and one live transaction, both paid."""
    folder = tmp_path_factory.mktemp("compare")
    ini = write_ini(folder)
    assert run("initdb", ini=ini).returncode == 0
    engine = create_engine(f"sqlite:///{folder / 'cli.sqlite'}")
    with Session(engine) as session, session.begin():
        ids = {}
        for name, test_mode in (("test", True), ("live", False)):
            config = Config(name=name, test_mode=test_mode)
            transaction = Transaction(
                config=config,
                reference=f"{name}-1",
                amount=550,
                postfinance_id="3100000001",
                postfinance_status="9",
                internal_status="fb",
                last_userforwarded_date=datetime(2026, 3, 2, 9, tzinfo=UTC),
            )
            session.add(transaction)
            session.flush()
            ids[name] = transaction.id
    yield folder, ini, ids, engine
    engine.dispose()


def test_everything_matches_exits_0(setup):
    folder, ini, ids, _engine = setup
    report = folder / "match.csv"
    report.write_bytes(csv_bytes([Line(f"polybanking-{ids['test']}"), Line("webshop-1")]))
    result = run("compare", str(report), ini=ini)
    assert result.returncode == 0, result.stderr
    assert "Everything matches." in result.stdout
    assert "  other systems' orders         1   CHF           5.50 (listed apart)" in result.stdout
    assert "cents" not in result.stdout


def test_differences_exit_1_list_them_and_write_the_csv(setup):
    folder, ini, ids, engine = setup
    report = folder / "live.csv"
    report.write_bytes(csv_bytes([Line(f"polybanking-{ids['live']}", status="8")], encoding="iso-8859-1"))
    out = folder / "differences.csv"
    result = run("compare", str(report), "--live", "--csv", str(out), ini=ini)
    assert result.returncode == 1, result.stderr
    assert f"different: polybanking-{ids['live']}" in result.stdout
    assert "status 8 in the report, 9 in PolyBanking" in result.stdout
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["category"], r["differs"]) for r in rows] == [("different", "status")]
    with Session(engine) as session:
        stored = session.scalars(
            select(ReconciliationRun).where(ReconciliationRun.file_name == "live.csv")
        ).one()
        assert (stored.live, stored.source, stored.different_count) == (True, "command", 1)
        assert stored.actor.startswith("command line (")


def test_an_unreadable_or_missing_file_exits_2_and_says_why(setup):
    """Both run side by side (each costs an interpreter start-up)."""
    folder, ini, _ids, engine = setup
    report = folder / "broken.csv"
    report.write_bytes(csv_bytes([Line("polybanking-1"), Line("polybanking-2", total="abc")]))
    broken, missing = (
        finish(process)
        for process in [
            start("compare", str(report), ini=ini),
            start("compare", str(folder / "no.csv"), ini=ini),
        ]
    )
    assert broken.returncode == 2
    assert "line 3, column 13 (TOTAL): 'abc' is not an amount" in broken.stdout
    assert "Traceback" not in broken.stderr
    with Session(engine) as session:
        stored = session.scalars(
            select(ReconciliationRun).where(ReconciliationRun.file_name == "broken.csv")
        ).one()
        assert "line 3" in stored.error
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr and "Traceback" not in missing.stderr


def test_a_test_report_compared_as_live_says_the_environment_may_be_wrong(setup):
    folder, ini, ids, _engine = setup
    report = folder / "test-as-live.csv"
    report.write_bytes(csv_bytes([Line(f"polybanking-{ids['test']}")]))
    result = run("compare", str(report), "--live", ini=ini)
    assert result.returncode == 1, result.stderr
    assert (
        "None of the report's orders was found among the live configs: is it the test account's report?"
        in (result.stdout)
    )
    matching = folder / "test-as-test.csv"
    matching.write_bytes(csv_bytes([Line(f"polybanking-{ids['test']}")]))
    assert "is it the" not in run("compare", str(matching), ini=ini).stdout
