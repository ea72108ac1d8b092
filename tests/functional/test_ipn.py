"""PROTOCOL §6: the IPN a website receives, and how each attempt is logged (one attempt here;
retries are in test_ipn_retries.py)."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from polybanking.models import Config, Transaction, TransactionLog
from polybanking.services.ipn.outbox import claim, record
from polybanking.services.ipn.payload import format_date, ipn_fields
from polybanking.services.ipn.schedule import IpnPolicy
from polybanking.services.ipn.sender import AttemptResult

from ..website import IPN_FORM_FIELDS, postfinance_sha, start_params, website_sign


def start(testapp, config, reference="ipn-1", amount="1250"):
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    assert answer.json["status"] == "OK"


def postsale(testapp, settings, db, status="9", amount="12.5", sub="0"):
    transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
    params = {
        "orderID": f"polybanking-{transaction_id}",
        "amount": amount,
        "currency": "CHF",
        "STATUS": status,
        "PAYID": "3000000042",
        "PAYIDSUB": sub,
        "NCERROR": "0",
    }
    params["SHASIGN"] = postfinance_sha(params, settings.test.sha_out)
    return testapp.post("/paiements/ipn", params)


def logs(db):
    return db.run(
        lambda s: [
            (row.log_type, row.extra_data)
            for row in s.scalars(select(TransactionLog).order_by(TransactionLog.id))
        ]
    )


def test_ipn_fields_and_signature(testapp, make_config, receiver, db, platform):
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config, reference="ipn-1", amount="1250")
    told = platform.ipns["pay"]
    ipns = receiver.wait_for(len(told))
    assert [ipn["postfinance_status"] for ipn in ipns] == told
    ipn = ipns[-1]
    assert set(ipn) == IPN_FORM_FIELDS
    assert ipn["sign"] == website_sign(config.key_ipn, {k: v for k, v in ipn.items() if k != "sign"})
    # Existing clients cut the last 6 characters and parse the rest.
    parsed = datetime.strptime(ipn["last_update"][:-6], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60
    successes = [extra for kind, extra in logs(db) if kind == "ipnsuccess"]
    assert len(successes) == len(told)
    assert re.fullmatch(r"status 9: answered HTTP 200 \(\d+ ms\)", successes[-1])


def test_failed_ipn_is_logged_and_stays_due(testapp, make_config, receiver, db, platform):
    receiver.statuses = [500]
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config)
    told = platform.ipns["pay"]  # each status on the way is tried once, then left to the outbox
    assert len(receiver.wait_for(len(told))) == len(told)
    failures = [extra for kind, extra in logs(db) if kind == "ipnfailled"]
    assert len(failures) == len(told)
    for status, failure in zip(told, failures, strict=True):
        assert re.fullmatch(rf'status {status}: answered HTTP 500 with "nope" \(\d+ ms\)', failure)
    state = db.run(lambda s: s.execute(select(Transaction.ipn_needed, Transaction.ipn_attempts)).one())
    assert tuple(state) == (True, 1)


def test_unreachable_website_is_a_logged_failure(testapp, make_config, receiver, db, platform):
    receiver.stop()  # connection refused from now on
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config)
    failures = [extra for kind, extra in logs(db) if kind == "ipnfailled"]
    assert failures == [f"status {status}: could not connect" for status in platform.ipns["pay"]]
    assert db.run(lambda s: s.scalar(select(Transaction.ipn_needed))) is True


def test_redirect_answer_is_not_success(testapp, make_config, receiver, db, platform):
    receiver.statuses = [301]
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config)
    assert [kind for kind, _ in logs(db) if kind.startswith("ipn")] == ["ipnfailled"] * len(
        platform.ipns["pay"]
    )


def test_ipn_carries_state_at_send_time(dbsession):
    config = Config(name="Shop", url_ipn="http://127.0.0.1:9/ipn")
    transaction = Transaction(
        config=config,
        reference="r",
        amount=100,
        postfinance_status="5",
        last_postfinance_ipn_date=datetime(2026, 11, 27, 10, 15, tzinfo=UTC),
    )
    dbsession.add(transaction)
    dbsession.flush()
    assert ipn_fields(transaction)["postfinance_status"] == "5"
    transaction.postfinance_status = "9"
    fields = ipn_fields(transaction)
    assert fields["postfinance_status"] == "9" and fields["postfinance_status_good"] == "True"
    assert fields["last_update"] == "2026-11-27 10:15:00+00:00"


def test_format_date_is_utc_with_fixed_offset():
    from datetime import timedelta, timezone

    zurich_winter = timezone(timedelta(hours=1))
    assert (
        format_date(datetime(2026, 11, 27, 11, 15, tzinfo=zurich_winter).astimezone(UTC))
        == "2026-11-27 10:15:00+00:00"
    )
    assert format_date(None) == ""


NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)


def in_flight_ipn(dbsession, status):
    """A transaction whose IPN (carrying ``status``) has just been claimed for sending."""
    transaction = Transaction(
        config=Config(name="Shop", url_ipn="http://127.0.0.1:9/ipn"),
        reference="r",
        amount=100,
        postfinance_status=status,
        ipn_needed=True,
        ipn_next_attempt_at=NOW,
        last_postfinance_ipn_date=NOW,
    )
    dbsession.add(transaction)
    dbsession.flush()
    (delivery,) = claim(dbsession, NOW, timedelta(seconds=30))
    assert delivery.fields["postfinance_status"] == status
    return transaction, delivery


def accepted(dbsession, delivery):
    return record(dbsession, [(delivery, AttemptResult(NOW, 3, http_status=200))], IpnPolicy(), NOW)


def test_accepted_ipn_clears_outbox_even_if_a_duplicate_report_arrived_meanwhile(dbsession):
    transaction, delivery = in_flight_ipn(dbsession, "9")
    # The browser's return (same report) lands while the IPN is in flight: last_update moves.
    transaction.last_user_back_from_postfinance_date = datetime(2026, 11, 27, 10, 1, tzinfo=UTC)
    accepted(dbsession, delivery)
    assert transaction.ipn_needed is False
    assert transaction.ipn_claim_token is None


def test_accepted_ipn_of_an_old_status_leaves_the_new_one_due(dbsession):
    transaction, delivery = in_flight_ipn(dbsession, "5")
    transaction.postfinance_status = "9"  # captured while the IPN for 5 was in flight
    (outcome,) = accepted(dbsession, delivery)
    assert outcome.superseded is True
    assert transaction.ipn_needed is True
    assert transaction.ipn_claim_token is None  # free to be claimed for the new status at once
