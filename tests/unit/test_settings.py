"""Settings (DESIGN.md): load() fails fast naming the bad key; POLYBANKING_… variables win."""

import pytest

from polybanking.platforms.epayment.sha import DEFAULT_SHA_OUT_KEYS
from polybanking.settings import Settings, SettingsError, env_name, load, with_environment

RAW = {
    "sqlalchemy.url": "sqlite://",
    "polybanking.base_url": "https://payments.example.org/",
    "postfinance.test.pspid": "TestPSPID",
    "postfinance.test.sha_in": "test-in",
    "postfinance.test.sha_out": "test-out",
    "postfinance.test.url": "https://e-payment.postfinance.ch/ncol/test/orderstandard_utf8.asp",
}
PROD = {
    "postfinance.prod.pspid": "LivePSPID",
    "postfinance.prod.sha_in": "prod-in",
    "postfinance.prod.sha_out": "prod-out",
    "postfinance.prod.url": "https://e-payment.postfinance.ch/ncol/prod/orderstandard_utf8.asp",
}


def raw(**changes) -> dict[str, str]:
    """RAW with ``changes`` (dots spelled as double underscores); None removes the key."""
    values = dict(RAW)
    for name, value in changes.items():
        key = name.replace("__", ".")
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def refused(values) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load(values)
    assert caught.value.key in str(caught.value)
    return caught.value


def test_minimal_settings_and_defaults():
    settings = load(RAW)
    assert isinstance(settings, Settings)
    assert settings.base_url == "https://payments.example.org"  # no trailing slash
    assert settings.url("/paiements/ipn") == "https://payments.example.org/paiements/ipn"
    assert settings.orderid_prefix == "polybanking"
    assert settings.hash_algorithm == "sha512"
    assert settings.sha_out_keys == DEFAULT_SHA_OUT_KEYS
    assert settings.test.pspid == "TestPSPID" and settings.test.sha_in == "test-in"
    assert settings.test.sha_out == "test-out" and settings.test.name == "test"
    assert settings.prod is None
    assert settings.environment(True) is settings.test


def test_prod_environment():
    settings = load({**RAW, **PROD})
    assert settings.prod is not None and settings.prod.pspid == "LivePSPID"
    assert settings.environment(False) is settings.prod


def test_live_config_without_prod_settings_raises():
    settings = load(RAW)
    with pytest.raises(SettingsError) as caught:
        settings.environment(False)
    assert caught.value.key.startswith("postfinance.prod.")


@pytest.mark.parametrize(
    "base_url",
    [None, "", "   ", "payments.example.org", "ftp://payments.example.org", "http://", "javascript:alert(1)"],
)
def test_base_url_missing_or_not_http(base_url):
    assert refused(raw(polybanking__base_url=base_url)).key == "polybanking.base_url"


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:6543", "https://example.org/pay/"])
def test_base_url_accepted(base_url):
    assert load(raw(polybanking__base_url=base_url)).base_url == base_url.rstrip("/")


@pytest.mark.parametrize("algorithm", ["md5", "sha384", "sha-512", "512", "sha3_512"])
def test_bad_hash(algorithm):
    assert refused(raw(postfinance__hash=algorithm)).key == "postfinance.hash"


@pytest.mark.parametrize(
    ("given", "algorithm"), [("sha1", "sha1"), ("SHA256", "sha256"), (" sha512 ", "sha512")]
)
def test_good_hash(given, algorithm):
    assert load(raw(postfinance__hash=given)).hash_algorithm == algorithm


@pytest.mark.parametrize("name", ["pspid", "sha_in", "sha_out", "url"])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_test_environment_key(name, value):
    key = f"postfinance.test.{name}"
    values = dict(RAW)
    if value is None:
        del values[key]
    else:
        values[key] = value
    assert refused(values).key == key


def test_bad_test_url():
    assert refused(raw(postfinance__test__url="not a url")).key == "postfinance.test.url"
    assert refused(raw(postfinance__test__query_url="ftp://x")).key == "postfinance.test.query_url"


@pytest.mark.parametrize("name", ["sha_in", "sha_out", "url"])
def test_incomplete_prod_environment(name):
    values = {**RAW, **PROD}
    del values[f"postfinance.prod.{name}"]
    assert refused(values).key == f"postfinance.prod.{name}"


@pytest.mark.parametrize("prefix", ["poly-banking", "poly banking", "   ", "pb/1", "péy", "a.b", "x;y"])
def test_bad_orderid_prefix(prefix):
    assert refused(raw(polybanking__orderid_prefix=prefix)).key == "polybanking.orderid_prefix"


@pytest.mark.parametrize("prefix", ["shop", "Shop_2", "PB"])
def test_good_orderid_prefix(prefix):
    assert load(raw(polybanking__orderid_prefix=prefix)).orderid_prefix == prefix


def test_sha_out_keys_setting():
    settings = load(raw(postfinance__sha_out_keys="orderid amount\nSTATUS"))
    assert settings.sha_out_keys == {"ORDERID", "AMOUNT", "STATUS"}


def test_settings_error_is_a_value_error_with_key():
    error = SettingsError("some.key", "is wrong")
    assert isinstance(error, ValueError)
    assert error.key == "some.key"
    assert "some.key" in str(error) and "is wrong" in str(error)


# Environment variables ---------------------------------------------------------------------------


def test_env_name():
    assert env_name("postfinance.prod.sha_in") == "POLYBANKING_POSTFINANCE_PROD_SHA_IN"
    assert env_name("polybanking.base_url") == "POLYBANKING_POLYBANKING_BASE_URL"
    assert env_name("sqlalchemy.url") == "POLYBANKING_SQLALCHEMY_URL"


def test_environment_overrides_ini_values():
    environ = {
        "POLYBANKING_POLYBANKING_BASE_URL": "https://other.example.org",
        "POLYBANKING_POSTFINANCE_TEST_SHA_IN": "from-env",
        "POLYBANKING_SQLALCHEMY_URL": "postgresql+psycopg://db/pb",
        "UNRELATED": "x",
    }
    merged = with_environment(RAW, environ)
    assert merged["polybanking.base_url"] == "https://other.example.org"
    assert merged["postfinance.test.sha_in"] == "from-env"
    assert merged["sqlalchemy.url"] == "postgresql+psycopg://db/pb"
    assert merged["postfinance.test.sha_out"] == "test-out"
    assert "UNRELATED" not in merged and "unrelated" not in merged
    settings = load(merged)
    assert settings.base_url == "https://other.example.org"
    assert settings.test.sha_in == "from-env"


def test_environment_provides_keys_absent_from_the_ini():
    environ = {env_name(key): value for key, value in PROD.items()}
    merged = with_environment(RAW, environ)
    assert {key: merged[key] for key in PROD} == PROD
    assert load(merged).environment(False).sha_out == "prod-out"


@pytest.mark.parametrize("key", ["polybanking.production", "sandbox.enabled", "postfinance.prod.sha_out"])
def test_environment_provides_start_up_switches(key):
    assert with_environment({}, {env_name(key): "value"}) == {key: "value"}


def test_environment_overrides_keys_only_the_ini_knows():
    merged = with_environment({**RAW, "custom.key": "ini"}, {"POLYBANKING_CUSTOM_KEY": "env"})
    assert merged["custom.key"] == "env"


def test_bad_value_from_environment_is_named():
    merged = with_environment(RAW, {"POLYBANKING_POSTFINANCE_HASH": "md5"})
    assert refused(merged).key == "postfinance.hash"


def test_with_environment_does_not_change_its_input():
    values = dict(RAW)
    with_environment(values, {"POLYBANKING_POSTFINANCE_TEST_PSPID": "other"})
    assert values == RAW


def test_with_environment_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("POLYBANKING_POSTFINANCE_TEST_PSPID", "FromOsEnviron")
    assert with_environment(RAW)["postfinance.test.pspid"] == "FromOsEnviron"
    assert with_environment(RAW, {})["postfinance.test.pspid"] == "TestPSPID"


def test_maintenance_url_defaults_to_the_query_urls_neighbour():
    query = "https://e-payment.postfinance.ch/ncol/test/querydirect.asp"
    assert load(raw()).test.maintenance_url == ""
    assert load(raw(postfinance__test__query_url=query)).test.maintenance_url == query.replace(
        "querydirect", "maintenancedirect"
    )
    own = "https://elsewhere.example.org/maintenance.asp"
    chosen = load(raw(postfinance__test__query_url=query, postfinance__test__maintenance_url=own))
    assert chosen.test.maintenance_url == own
    assert (
        refused(raw(postfinance__test__maintenance_url="ftp://x")).key == "postfinance.test.maintenance_url"
    )
