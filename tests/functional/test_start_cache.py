"""The per-process cache of a config's start columns (issue 18): a stale entry only ever falls back
to the full path. Each test starts once (filling the cache), changes the config row behind the
cache's back, as another process or the admin pages would, and starts again."""

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from polybanking.models import Config, Transaction, TransactionLog
from polybanking.services.payments.config_cache import CONFIG_CACHE

from ..website import start_params
from .test_start import START, assert_refused


@pytest.fixture
def cached(testapp, make_config):
    """A config whose start columns are in the cache, after one accepted start."""

    def make(**fields):
        config = make_config(**fields)
        assert testapp.post(START, start_params(config, reference="first")).json["status"] == "OK"
        entry = CONFIG_CACHE.get(config.id)
        assert entry is not None and entry.key_request == config.key_request
        return config

    return make


def change(db, config_id: int, **values) -> None:
    db.run(lambda session: session.execute(update(Config).where(Config.id == config_id).values(**values)))


def counts(db) -> tuple[int, int]:
    return db.run(
        lambda s: (
            s.scalar(select(func.count(Transaction.id))),
            s.scalar(select(func.count(TransactionLog.id))),
        )
    )


def test_a_cached_config_starts_payments_with_their_log(testapp, cached, db):
    config = cached()
    second = testapp.post(START, start_params(config, reference="second")).json
    third = testapp.post(START, start_params(config, reference="third")).json
    assert second["status"] == third["status"] == "OK" and second["url"] != third["url"]
    assert counts(db) == (3, 3)
    refused = testapp.post(START, start_params(config, reference="second"), expect_errors=True)
    assert_refused(refused, "REFERENCE_ERROR")
    assert counts(db) == (3, 3)


def test_a_regenerated_key_refuses_the_old_one_and_accepts_the_new(testapp, cached, db):
    config = cached()
    change(db, config.id, key_request="a brand new key")
    old = testapp.post(START, start_params(config, reference="with-old-key"), expect_errors=True)
    assert_refused(old, "KEY_ERROR")
    new = SimpleNamespace(id=config.id, key_request="a brand new key")
    assert testapp.post(START, start_params(new, reference="with-new-key")).json["status"] == "OK"
    assert CONFIG_CACHE.get(config.id).key_request == "a brand new key"
    assert counts(db) == (2, 2)


@pytest.mark.parametrize("disabled", [{"active": False}, {"admin_enable": False}])
def test_a_disabled_config_is_refused(testapp, cached, db, disabled):
    config = cached()
    change(db, config.id, **disabled)
    answer = testapp.post(START, start_params(config, reference="after"), expect_errors=True)
    assert_refused(answer, "CONFIG_ERROR")
    assert counts(db) == (1, 1)


@pytest.mark.parametrize("before", [None, 5000])
def test_a_lowered_maximum_is_applied(testapp, cached, db, before):
    config = cached(max_amount=before)
    change(db, config.id, max_amount=1000)
    answer = testapp.post(START, start_params(config, "1001", reference="after"), expect_errors=True)
    assert_refused(answer, "AMOUNT_ERROR")
    assert testapp.post(START, start_params(config, "1000", reference="at-max")).json["status"] == "OK"
    assert counts(db) == (2, 2)


def test_a_raised_maximum_is_applied_too(testapp, cached, db):
    config = cached(max_amount=1000)
    change(db, config.id, max_amount=None)
    assert testapp.post(START, start_params(config, "5000", reference="after")).json["status"] == "OK"
