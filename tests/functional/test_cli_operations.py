"""``polybanking refund|capture|cancel``: run in-process on the suite's database, the queue run
immediately, so the sandbox (served over real HTTP) answers the DirectLink maintenance request."""

import pytest
from sqlalchemy import select

from polybanking.models import Operation, Transaction
from polybanking.scripts import operations
from polybanking.scripts.cli import main

from ..inifile import write_ini
from .test_refunds import paid as paid_on_the_sandbox


@pytest.fixture
def ini(tmp_path, app_settings):
    return write_ini(tmp_path / "cli.ini", app_settings)


def paid(testapp, config, reference="r-1", amount="1200", outcome="pay"):
    return paid_on_the_sandbox(testapp, config, reference, amount, outcome)


def test_refund_with_yes(testapp, make_config, db, platform, ini, capsys):
    config = make_config(name="Shop", platform=platform.name)
    tid = platform.pay(config, reference="r-1", amount="1200")
    code = main(["--ini", ini, "refund", "--config", "Shop", "--reference", "r-1", "--amount", "200",
                 "--reason", "duplicate payment", "--yes"])  # fmt: skip
    assert code == 0
    assert "refund #" in capsys.readouterr().out
    operation = db.run(lambda s: s.scalar(select(Operation)))
    assert (operation.amount, operation.state, operation.reason) == (200, "done", "duplicate payment")
    assert operation.requested_by.startswith("cli:")
    assert db.run(lambda s: s.get(Transaction, tid).refunded_amount) == 200
    assert platform.refunds_held(tid) == [(200, "done")]


def test_the_confirmation_shows_chf_and_no_means_nothing(testapp, make_config, db, ledger, ini):
    config = make_config()
    paid(testapp, config)
    asked = []

    def say_no(question):
        asked.append(question)
        return False

    with pytest.raises(operations.CommandError, match="nothing done"):
        operations.operate(ini, "refund", config=str(config.id), reference="r-1", amount=None, reason="x",
                           confirm=say_no)  # fmt: skip
    assert asked == [f"Refund CHF 12.00 of 'r-1' (config {config.id} Shop)? [y/N] "]
    assert db.run(lambda s: s.scalar(select(Operation.id))) is None


def test_without_a_terminal_it_needs_yes(testapp, make_config, ledger, ini, capsys):
    config = make_config()
    paid(testapp, config)
    args = ["--ini", ini, "cancel", "--config", str(config.id), "--reference", "r-1", "--reason", "x"]
    assert main(args) == 2
    assert "not authorised" in capsys.readouterr().err  # checked before asking
    args = ["--ini", ini, "refund", "--config", str(config.id), "--reference", "r-1", "--reason", "x"]
    assert main(args) == 2
    assert "add --yes" in capsys.readouterr().err


def test_capture_from_the_command_line(testapp, make_config, db, platform, ini):
    config = make_config(platform=platform.name)
    tid = platform.pay(config, reference="r-1", amount="1200", outcome="authorise")
    args = ["--ini", ini, "capture", "--config", str(config.id), "--reference", "r-1", "--reason", "shipped"]
    assert main([*args, "--yes"]) == 0
    assert db.run(lambda s: s.get(Transaction, tid).postfinance_status) == "9"
    assert platform.status_held(tid) == "9"


def test_refusals_are_one_line(testapp, make_config, ledger, ini, capsys):
    config = make_config()
    paid(testapp, config)
    base = ["--ini", ini, "refund", "--config", str(config.id), "--reason", "x", "--yes"]
    assert main([*base, "--reference", "nope"]) == 2
    assert main([*base, "--reference", "r-1", "--amount", "1201"]) == 2
    assert "more than is left" in capsys.readouterr().err
