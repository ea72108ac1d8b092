"""The retry schedule: ini parsing (junk refused naming the key), jitter, Retry-After within bounds."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from polybanking.services.ipn.schedule import (
    IpnPolicy,
    load_policy,
    parse_retry_after,
    parse_schedule,
    retry_delay,
)
from polybanking.settings import SettingsError

S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_default_schedule_is_the_issues_three_days():
    policy = load_policy({})
    assert policy.schedule == (5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H, 14 * H, 20 * H, 24 * H)
    assert policy.max_attempts == 11
    assert timedelta(days=3) < sum(policy.schedule, timedelta()) < timedelta(days=4)
    assert policy.timeout == 10.0
    assert policy.scan_interval == 60


def test_settings_are_read_from_the_ini_keys():
    policy = load_policy(
        {
            "ipn.retry_schedule": "1s, 2m 3h 1d 7",
            "ipn.timeout": "2.5",
            "ipn.scan_interval": "5",
            "ipn.concurrency": "3",
        }
    )
    assert policy.schedule == (S, 2 * M, 3 * H, timedelta(days=1), 7 * S)
    assert (policy.timeout, policy.scan_interval, policy.concurrency) == (2.5, 5, 3)
    assert policy.attempt_limit == 5  # connect and read timeouts
    assert policy.claim_lease == timedelta(seconds=12.5)  # an attempt, and time to start it


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ipn.retry_schedule", "5s 5x"),
        ("ipn.retry_schedule", "-5s"),
        ("ipn.retry_schedule", "0s"),
        ("ipn.retry_schedule", "31d"),
        ("ipn.retry_schedule", "1.5h"),
        ("ipn.retry_schedule", " ".join(["1s"] * 51)),
        ("ipn.timeout", "ten"),
        ("ipn.timeout", "0"),
        ("ipn.timeout", "nan"),
        ("ipn.scan_interval", "0"),
        ("ipn.concurrency", "1000"),
    ],
)
def test_junk_settings_are_refused_naming_the_key(key, value):
    with pytest.raises(SettingsError) as caught:
        load_policy({key: value})
    assert caught.value.key == key
    assert key in str(caught.value)


def test_empty_schedule_text_is_refused_when_parsed_directly():
    with pytest.raises(SettingsError):
        parse_schedule("  ")


def test_delays_follow_the_schedule_within_the_jitter():
    policy = IpnPolicy(schedule=(5 * S, 5 * M, 2 * H))
    rng = random.Random(4)
    for failures, step in enumerate(policy.schedule, start=1):
        delays = [retry_delay(policy, failures, rng=rng) for _ in range(200)]
        assert all(step * 0.9 <= delay <= step * 1.1 for delay in delays)
        assert len(set(delays)) > 100  # really spread: IPNs failed together come back apart
    assert retry_delay(policy, len(policy.schedule) + 1, rng=rng) is None
    assert retry_delay(policy, 0, rng=rng) is None


def test_retry_after_postpones_up_to_the_longest_step_and_never_brings_forward():
    policy = IpnPolicy(schedule=(5 * S, 5 * M, 2 * H), jitter=0)
    assert retry_delay(policy, 1, retry_after=120) == 120 * S  # honoured
    assert retry_delay(policy, 2, retry_after=1) == 5 * M  # not sooner than the schedule says
    assert retry_delay(policy, 1, retry_after=86400 * 7) == 2 * H  # at most the longest step
    assert retry_delay(policy, 4, retry_after=120) is None  # the last attempt stays the last


def test_retry_after_values():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after("Fri, 27 Nov 2026 10:02:00 GMT", NOW) == 120
    assert parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", NOW) == 0  # in the past
    assert parse_retry_after("99999999999999999999", NOW) == 999999999  # no overflow
    for junk in (None, "", "soon", "-5", "1.5", "Fri, 99 Nov 2026", "\x00"):
        assert parse_retry_after(junk, NOW) is None, junk
