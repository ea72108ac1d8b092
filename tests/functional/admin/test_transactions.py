"""Transactions in the admin pages: the filtered list, one transaction's story, and resending its IPN."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from polybanking.models import Transaction

from ...website import website_sign
from .conftest import csrf_token

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def references(page) -> list[str]:
    return re.findall(r'<a href="/admin/transactions/\d+/">([^<]*)</a>', page.text)


def bulk(db, config_id, count, start=T0, prefix="order"):
    rows = [
        {
            "config_id": config_id,
            "reference": f"{prefix}-{n:04d}",
            "amount": 100 + n,
            "token": f"{prefix}{config_id}x{n}",
            "creation_date": start + timedelta(minutes=n),
            "extra_data": "",
            "internal_status": "cr",
            "brand": "",
            "card": "",
            "flagged": False,
            "ipn_needed": False,
            "ipn_attempts": 0,
            "ipn_failed": False,
        }
        for n in range(count)
    ]
    db.run(lambda s: s.execute(insert(Transaction), rows))


def test_the_list_is_newest_first_and_paginated(admin_as, make_config, db):
    config = make_config()
    bulk(db, config.id, 120)
    client = admin_as("alice", configs=[config.id])
    first = client.get("/admin/transactions/")
    assert "120 transactions" in first.text and "Page 1 of 3" in first.text
    assert references(first)[:3] == ["order-0119", "order-0118", "order-0117"]
    assert len(references(first)) == 50
    last = client.get("/admin/transactions/?page=3")
    assert references(last)[-1] == "order-0000" and len(references(last)) == 20
    assert references(client.get("/admin/transactions/?page=999"))[-1] == "order-0000"  # clamped
    for junk in (
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999999999999999",
        "config=x",
        "config=99999999999",
        "status=zz",
        "from=2026-13-45",
        "to=yesterday",
        "q=" + "x" * 1000,
    ):
        answer = client.get(f"/admin/transactions/?{junk}")
        assert answer.status_int == 200, junk
    for junk in ("q=%ff", "q=%00", "status=%00"):
        assert client.get(f"/admin/transactions/?{junk}", expect_errors=True).status_int == 400


def test_filters(admin_as, make_config, make_transaction, db):
    a = make_config(name="Alpha")
    b = make_config(name="Bravo")
    make_transaction(a.id, "a-paid", status="9", created=T0)
    make_transaction(a.id, "a-refused", status="2", created=T0 + timedelta(hours=1))
    make_transaction(a.id, "a-pending", status="91", created=T0 + timedelta(hours=2))
    make_transaction(a.id, "a-none", created=T0 + timedelta(hours=3))
    make_transaction(
        b.id, "b-ipn", status="5", created=T0 + timedelta(days=1), ipn_needed=True, ipn_attempts=3
    )
    make_transaction(b.id, "b-flagged_100%", status="9", created=T0 + timedelta(days=2), flagged=True)
    client = admin_as("root", superuser=True)

    def found(query):
        return references(client.get(f"/admin/transactions/?{query}"))

    assert found(f"config={a.id}") == ["a-none", "a-pending", "a-refused", "a-paid"]
    assert found("status=good") == ["b-flagged_100%", "b-ipn", "a-paid"]
    assert found("status=refused") == ["a-refused"]
    assert found("status=pending") == ["a-pending"]
    assert found("status=none") == ["a-none"]
    assert found("status=ipn_failing") == ["b-ipn"]
    assert found("status=flagged") == ["b-flagged_100%"]
    assert found("status=5") == ["b-ipn"]
    assert found(f"config={a.id}&status=good") == ["a-paid"]
    assert found("q=REFUSED") == ["a-refused"]
    # LIKE's wildcards are searched for literally.
    assert found("q=_100%25") == ["b-flagged_100%"]
    assert found("q=%25") == ["b-flagged_100%"]
    assert found("q=a_") == []
    assert found("from=2026-03-02") == ["b-flagged_100%", "b-ipn"]
    assert found("to=2026-03-01") == ["a-none", "a-pending", "a-refused", "a-paid"]
    assert found("from=2026-03-02&to=2026-03-02") == ["b-ipn"]
    # A range that cannot match says so, rather than an unexplained empty list.
    reversed_range = client.get("/admin/transactions/?from=2026-03-05&to=2026-03-01").html
    assert "is after the “to” date (01.03.2026): no transaction can match" in reversed_range.select_one(
        "#date-problem"
    ).get_text(" ", strip=True)
    assert (
        client.get("/admin/transactions/?from=2026-03-01&to=2026-03-05").html.select_one("#date-problem")
        is None
    )


def test_dates_are_in_the_organisations_time_zone(admin_as, make_config, make_transaction, db):
    config = make_config()
    # 23:30 UTC on 1 March is 00:30 on 2 March in Zurich (CET, UTC+1); in July it is CEST (UTC+2).
    make_transaction(config.id, "late", created=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    make_transaction(config.id, "summer", created=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    client = admin_as("root", superuser=True)
    page = client.get("/admin/transactions/")
    # The list shows the offset too (to the minute), so nobody reads a local time as UTC.
    assert "2026-03-02 00:30+01:00" in page.text and "2026-07-01 12:00+02:00" in page.text
    late_id = db.run(lambda s: s.scalar(select(Transaction.id).where(Transaction.reference == "late")))
    detail = client.get(f"/admin/transactions/{late_id}/").text
    assert "2026-03-02 00:30:00+01:00" in detail  # a person reads the offset too, as the API gives it
    assert references(client.get("/admin/transactions/?from=2026-03-02&to=2026-03-02")) == ["late"]
    assert references(client.get("/admin/transactions/?to=2026-03-01")) == []


def test_amounts_are_chf_with_two_decimals(admin_as, make_config, make_transaction):
    config = make_config()
    make_transaction(config.id, "big", amount=123456789)
    make_transaction(config.id, "small", amount=5)
    page = admin_as("root", superuser=True).get("/admin/transactions/")
    assert "CHF 1&#39;234&#39;567.89" in page.text or "CHF 1'234'567.89" in page.text
    assert "CHF 0.05" in page.text


def test_a_sandbox_payment_found_by_reference_its_story_and_a_resent_ipn(
    admin_as, make_config, testapp, receiver, db, platform
):
    config = make_config(name="Ticket shop", platform=platform.name)
    platform.pay_through(testapp, config, reference="ticket-7/ä", amount="1250")
    told = len(platform.ipns["pay"])  # one IPN per status on the way
    receiver.wait_for(told)
    client = admin_as("alice", configs=[config.id])

    listing = client.get("/admin/transactions/", {"q": "ticket-7/ä"})
    assert references(listing) == ["ticket-7/ä"]
    link = re.search(r'href="(/admin/transactions/\d+/)"', listing.text).group(1)
    detail = client.get(link)
    text = detail.text
    for expected in (
        "ticket-7/ä",
        "CHF 12.50",
        "9 · Payment requested",
        "Ticket shop",
        platform.brand,
        "Transaction created",
        "User forwarded",
        "User back from postfinance",
        "Postfinance status changed",
        "IPN Success",
        "accepted",
    ):
        assert expected in text, expected
    transaction = db.run(lambda s: s.scalar(select(Transaction).where(Transaction.reference == "ticket-7/ä")))
    assert transaction.postfinance_id in text and transaction.card in text
    assert f"polybanking-{transaction.id}" in text  # the ORDERID PostFinance's back office shows
    assert len(re.findall(r'<span class="status good">accepted</span>', text)) == told

    receiver.reset()
    answer = client.post(f"{link}resend-ipn", {"csrf_token": csrf_token(detail)})
    assert answer.status_int == 303 and answer.location.endswith(link)
    ipn = receiver.wait_for(1)[0]
    assert ipn["reference"] == "ticket-7/ä" and ipn["postfinance_status"] == "9"
    signed = {k: v for k, v in ipn.items() if k != "sign"}
    assert ipn["sign"] == website_sign(config.key_ipn, signed)
    again = client.get(link)
    assert "will be sent again" in again.text
    assert len(re.findall(r'<span class="status good">accepted</span>', again.text)) == told + 1
    # A resend request is listed as what it is, not as a failed attempt, and not counted as one.
    assert again.text.count('<span class="status">resend requested</span>') == 1
    assert 'class="status bad"' not in again.text
    assert f"{told + 1} attempts (1 since the last status change or resend)" in again.text
    assert again.html.select_one("#ipn-attempts").get_text().count("answered HTTP 200") == told + 1


def test_a_failing_ipn_shows_on_the_home_page_and_in_the_attempts(
    admin_as, make_config, testapp, receiver, db, platform
):
    config = make_config(name="Ticket shop", platform=platform.name)
    receiver.statuses = [500]
    platform.pay_through(testapp, config, reference="failing-1")
    receiver.wait_for(len(platform.ipns["pay"]))
    client = admin_as("root", superuser=True)
    home = client.get("/admin/")
    assert "failing-1" in home.text and "failing (1)" in home.text
    detail = client.get(re.search(r'href="(/admin/transactions/\d+/)"', home.text).group(1))
    assert '<span class="status bad">failed</span>' in detail.text and "answered HTTP 500" in detail.text


def test_a_failed_attempt_says_what_happened_in_words(admin_as, make_config, testapp, receiver, db, platform):
    from ...outbox import closed_port_url

    config = make_config(name="Ticket shop", url_ipn=closed_port_url(), platform=platform.name)
    platform.pay_through(testapp, config, reference="refused-1")
    client = admin_as("root", superuser=True)
    transaction_id = db.run(
        lambda s: s.scalar(select(Transaction.id).where(Transaction.reference == "refused-1"))
    )
    page = client.get(f"/admin/transactions/{transaction_id}/").html
    words = [row.select("td")[2] for row in page.select("#ipn-attempts tbody tr")]
    # One attempt per status on the way, newest first, in words, and no duration: how long a
    # failed connection took would help probe a network.
    assert [cell.get_text(" ", strip=True) for cell in words] == [
        f"could not connect · status {status}" for status in reversed(platform.ipns["pay"])
    ]
    assert all(cell.details is None for cell in words)


def test_home_shows_todays_takings_and_stuck_payments(admin_as, make_config, make_transaction):
    a = make_config(name="Alpha")
    b = make_config(name="Bravo")
    now = datetime.now(UTC)
    make_transaction(a.id, "paid-1", amount=1000, status="9", created=now)
    make_transaction(a.id, "paid-2", amount=250, status="5", created=now)
    make_transaction(a.id, "refused", amount=9999, status="2", created=now)
    make_transaction(b.id, "old-paid", amount=777, status="9", created=now - timedelta(days=2))
    make_transaction(b.id, "stuck", amount=300, created=now - timedelta(hours=3), internal_status="fw")
    make_transaction(b.id, "uncertain", amount=300, status="92", created=now - timedelta(hours=2))
    make_transaction(b.id, "just-sent", amount=300, created=now, internal_status="fw")
    text = admin_as("root", superuser=True).get("/admin/").text
    takings = text[text.index("Today's takings") : text.index("Failing IPNs")]
    assert "Alpha" in takings and "CHF 12.50" in takings and "Bravo" not in takings
    stuck = text[text.index("Payments stuck") :]
    assert "stuck" in stuck and "uncertain" in stuck and "just-sent" not in stuck
