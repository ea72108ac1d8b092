"""Over COUNT_LIMIT matching transactions, the list and the home page stop counting (issue 18):
"more than 10000", a pager without a last page, and every page still reachable by "Older"."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from polybanking.models import Transaction
from polybanking.services.admin.queries import COUNT_LIMIT, PAGE_SIZE

from .test_transactions import references

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def failing_ipns(db, config_id: int, first: int, count: int) -> None:
    rows = [
        {
            "config_id": config_id,
            "reference": f"order-{n:05d}",
            "amount": 100,
            "token": f"many{config_id}x{n}",
            "creation_date": T0 + timedelta(seconds=n),
            "postfinance_status": "9",
            "internal_status": "fb",
            "ipn_needed": True,
            "ipn_attempts": 2,
        }
        for n in range(first, first + count)
    ]
    db.run(lambda s: s.execute(insert(Transaction), rows))


def failing_count(client) -> str:
    return client.get("/admin/").html.select_one("#failing .count").get_text(strip=True)


def test_the_count_stops_above_the_limit(admin_as, make_config, db):
    config = make_config()
    failing_ipns(db, config.id, 0, COUNT_LIMIT)
    client = admin_as("alice", configs=[config.id])
    last_page = COUNT_LIMIT // PAGE_SIZE
    exact = client.get("/admin/transactions/?status=ipn_failing")
    assert f"{COUNT_LIMIT} transactions, newest first" in exact.text
    assert f"Page 1 of {last_page}" in exact.text and f"page={last_page}" in exact.text  # a Last link
    assert failing_count(client) == str(COUNT_LIMIT)

    failing_ipns(db, config.id, COUNT_LIMIT, 1)
    many = client.get("/admin/transactions/?status=ipn_failing")
    assert f"More than {COUNT_LIMIT} transactions" in many.text
    assert "Page 1</span>" in many.text and " of " not in many.html.select_one(".pager span").text
    assert 'rel="next"' in many.text and f"page={last_page}" not in many.text  # Older, but no Last
    assert references(many)[0] == f"order-{COUNT_LIMIT:05d}"
    # Pages stop at the count limit: the 10 000 newest, then the filters reach older ones.
    for deepest in (last_page, last_page + 1, 10**5):
        page = client.get(f"/admin/transactions/?status=ipn_failing&page={deepest}")
        assert references(page)[-1] == "order-00001" and 'rel="next"' not in page.text
        assert "narrow down with the filters" in page.text
    assert "narrow down with the filters" not in many.text
    searched = client.get("/admin/transactions/?q=ORDER-")  # a search matching them all, any case
    assert f"More than {COUNT_LIMIT} transactions" in searched.text
    assert references(searched)[0] == f"order-{COUNT_LIMIT:05d}"
    assert references(client.get("/admin/transactions/?q=der-0999"))[:2] == ["order-09999", "order-09998"]
    older = client.get("/admin/transactions/?status=ipn_failing&to=2026-03-01&q=order-00000")
    assert references(older) == ["order-00000"]
    assert failing_count(client) == f"more than {COUNT_LIMIT}"
    assert f"All failing IPNs (more than {COUNT_LIMIT})" in client.get("/admin/").text
