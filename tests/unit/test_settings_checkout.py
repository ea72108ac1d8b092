"""Checkout settings (PROTOCOL §11): optional per environment, checked at start-up naming the key."""

import pytest

from polybanking.settings import CHECKOUT_API_URL, SettingsError, load

from .test_settings import RAW, refused

KEY = "c2VjcmV0LWtleS1vZi10aGUtYXBwbGljYXRpb24tdXNlcg=="
CHECKOUT = {
    "checkout.test.space_id": "4711",
    "checkout.test.user_id": "512",
    "checkout.test.authentication_key": KEY,
}


def test_checkout_is_optional_and_its_configs_then_name_the_missing_key():
    settings = load(RAW)
    assert settings.checkout_test is None and settings.checkout_live is None
    with pytest.raises(SettingsError) as caught:
        settings.checkout(True)
    assert caught.value.key == "checkout.test.space_id"
    with pytest.raises(SettingsError) as caught:
        settings.checkout(False)
    assert caught.value.key == "checkout.live.space_id"


def test_a_space_is_read_with_the_real_api_by_default():
    env = load({**RAW, **CHECKOUT}).checkout(True)
    assert (env.space_id, env.user_id, env.authentication_key) == (4711, 512, KEY)
    assert env.api_url == CHECKOUT_API_URL
    assert KEY not in repr(env)


def test_api_url_is_read_without_trailing_slash():
    values = {**RAW, **CHECKOUT, "checkout.test.api_url": "http://127.0.0.1:6543/sandbox/checkout/api/v2.0/"}
    assert load(values).checkout(True).api_url == "http://127.0.0.1:6543/sandbox/checkout/api/v2.0"


@pytest.mark.parametrize(
    "key, value",
    [
        ("checkout.test.space_id", ""),
        ("checkout.test.space_id", "12a"),
        ("checkout.test.space_id", "0"),
        ("checkout.test.user_id", "-3"),
        ("checkout.test.authentication_key", ""),
        ("checkout.test.authentication_key", "not base64!"),
        ("checkout.test.api_url", "ftp://checkout.example.org/api"),
    ],
)
def test_a_half_or_badly_set_space_is_refused_naming_the_key(key, value):
    assert refused({**RAW, **CHECKOUT, key: value}).key == key


def test_live_space_is_separate():
    live = {name.replace(".test.", ".live."): value for name, value in CHECKOUT.items()}
    settings = load({**RAW, **live, "checkout.live.space_id": "99"})
    assert settings.checkout_test is None
    assert settings.checkout(False).space_id == 99
