"""The ``reconcile.*`` settings: defaults, values read, and junk refused naming the key."""

from datetime import timedelta

import pytest

from polybanking.settings import load

from .test_settings import RAW, refused


def test_defaults():
    settings = load(RAW).reconcile
    assert (settings.inbox, settings.archive, settings.inbox_live) == ("", "", False)
    assert settings.stale_after == timedelta(minutes=30)
    assert (settings.max_queries, settings.give_up_after) == (6, timedelta(hours=48))
    assert load(RAW).timezone == "Europe/Zurich"


def test_values_are_read():
    values = dict(RAW) | {
        "reconcile.inbox": "/srv/reports",
        "reconcile.inbox_environment": "Live",
        "reconcile.stale_after": "45",
        "reconcile.max_queries": "3",
        "reconcile.give_up_after": "12",
        "polybanking.timezone": "UTC",
    }
    settings = load(values).reconcile
    assert (settings.inbox, settings.archive, settings.inbox_live) == (
        "/srv/reports",
        "/srv/reports/archive",
        True,
    )
    assert (settings.stale_after, settings.max_queries) == (timedelta(minutes=45), 3)
    assert (settings.give_up_after, load(values).timezone) == (timedelta(hours=12), "UTC")
    assert load(values | {"reconcile.archive": "/srv/done"}).reconcile.archive == "/srv/done"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reconcile.stale_after", "abc"),
        ("reconcile.stale_after", "0"),
        ("reconcile.stale_after", "-5"),
        ("reconcile.max_queries", "1e3"),
        ("reconcile.give_up_after", "９"),
        ("reconcile.inbox_environment", "prod"),
        ("polybanking.timezone", "Mars/Olympus_Mons"),
        ("polybanking.timezone", "../../etc/passwd"),
    ],
)
def test_junk_is_refused_naming_the_key(key, value):
    assert refused(dict(RAW) | {key: value}).key == key
