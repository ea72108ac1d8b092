"""The admin interface's ini keys: defaults, and a clear error naming each bad key."""

import pytest

from polybanking.auth.settings import load
from polybanking.settings import SettingsError

SECRET = "s" * 32


def test_defaults():
    settings = load({"session.secret": SECRET})
    assert settings.backend == "local" and settings.tequila is None
    assert settings.timezone.key == "Europe/Zurich"
    assert not settings.session_secure


def test_production_cookies_are_secure():
    assert load({"session.secret": SECRET, "polybanking.production": "true"}).session_secure


def test_tequila_defaults():
    settings = load({"session.secret": SECRET, "auth.backend": "tequila"})
    assert settings.tequila.server == "https://tequila.epfl.ch" and not settings.tequila.autocreate
    assert settings.form_targets == ["https://tequila.epfl.ch"]


@pytest.mark.parametrize(
    "raw,key",
    [
        ({}, "session.secret"),
        ({"session.secret": "short"}, "session.secret"),
        ({"session.secret": SECRET, "auth.backend": "ldap"}, "auth.backend"),
        ({"session.secret": SECRET, "polybanking.timezone": "Mars/Olympus"}, "polybanking.timezone"),
        (
            {"session.secret": SECRET, "polybanking.production": "true", "session.secure": "false"},
            "session.secure",
        ),
        (
            {"session.secret": SECRET, "auth.backend": "tequila", "tequila.server": "ftp://x"},
            "tequila.server",
        ),
        ({"session.secret": SECRET, "auth.backend": "tequila", "tequila.timeout": "abc"}, "tequila.timeout"),
        ({"session.secret": SECRET, "auth.backend": "tequila", "tequila.timeout": "120"}, "tequila.timeout"),
    ],
)
def test_bad_settings_name_their_key(raw, key):
    with pytest.raises(SettingsError) as error:
        load(raw)
    assert error.value.key == key
