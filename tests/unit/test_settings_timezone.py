"""polybanking.timezone: where the reports' days and months begin."""

import pytest

from polybanking.settings import SettingsError, load

from .test_settings import RAW


def test_default_is_zurich():
    settings = load(RAW)
    assert settings.timezone == "Europe/Zurich"
    assert settings.tz.key == "Europe/Zurich"


def test_another_zone():
    assert load({**RAW, "polybanking.timezone": " America/New_York "}).tz.key == "America/New_York"


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Europe/Zurich\x00", "UTC+1"])
def test_unknown_zone_stops_start_up_naming_the_key(name):
    with pytest.raises(SettingsError, match="polybanking.timezone"):
        load({**RAW, "polybanking.timezone": name})
