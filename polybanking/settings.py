"""Reads and checks the ini keys at start-up (DESIGN.md, Settings); fails fast naming the bad key.

Any key may come from the environment instead: ``postfinance.prod.sha_in`` is read from
``POLYBANKING_POSTFINANCE_PROD_SHA_IN`` when that variable is set, so production.ini holds no secret.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .postfinance.sha import ALGORITHMS, DEFAULT_SHA_OUT_KEYS

KNOWN_KEYS = (
    "sqlalchemy.url",
    "polybanking.base_url",
    "polybanking.orderid_prefix",
    "polybanking.production",
    "postfinance.hash",
    "postfinance.sha_out_keys",
    *(
        f"postfinance.{env}.{name}"
        for env in ("test", "prod")
        for name in ("pspid", "sha_in", "sha_out", "url", "userid", "password", "query_url")
    ),
    "huey.backend",
    "huey.filename",
    "huey.url",
    "huey.immediate",
    "huey.name",
    "sandbox.enabled",
    "sandbox.postsale_url",
    "sandbox.shop.config_id",
    "sandbox.shop.key_request",
    "sandbox.shop.key_ipn",
    "polybanking.language",
    # Production (issue 8): body limits, trusted reverse proxies, who may read /healthz and /metrics.
    "polybanking.max_body",
    "polybanking.max_upload",
    "polybanking.trusted_proxies",
    "polybanking.monitoring_from",
)


class SettingsError(ValueError):
    def __init__(self, key: str, problem: str):
        super().__init__(f"setting {key!r}: {problem}")
        self.key = key


def env_name(key: str) -> str:
    return "POLYBANKING_" + key.upper().replace(".", "_")


def with_environment(raw: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ini settings, overridden by ``POLYBANKING_…`` environment variables."""
    environ = os.environ if environ is None else environ
    merged = dict(raw)
    for key in set(KNOWN_KEYS) | set(raw):
        value = environ.get(env_name(key))
        if value is not None:
            merged[key] = value
    return merged


def as_bool(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _url(settings: Mapping[str, str], key: str, required: bool = True) -> str:
    value = (settings.get(key) or "").strip()
    if not value:
        if required:
            raise SettingsError(key, "is required")
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(key, f"must be an http(s) URL, not {value!r}")
    return value


@dataclass(frozen=True)
class PostFinanceEnvironment:
    """One PostFinance account environment (test or prod)."""

    name: str
    pspid: str
    sha_in: str
    sha_out: str
    url: str
    userid: str = ""
    password: str = ""
    query_url: str = ""


@dataclass(frozen=True)
class Settings:
    base_url: str
    orderid_prefix: str
    hash_algorithm: str
    sha_out_keys: frozenset[str]
    test: PostFinanceEnvironment
    prod: PostFinanceEnvironment | None
    language: str = ""

    def environment(self, test_mode: bool) -> PostFinanceEnvironment:
        """The PostFinance environment a config uses; a live config without prod settings is an error."""
        if test_mode:
            return self.test
        if self.prod is None:
            raise SettingsError("postfinance.prod.pspid", "live configs need the prod settings")
        return self.prod

    def url(self, path: str) -> str:
        return self.base_url + path


def _environment(settings: Mapping[str, str], env: str, required: bool) -> PostFinanceEnvironment | None:
    prefix = f"postfinance.{env}."
    if not required and not (settings.get(prefix + "pspid") or "").strip():
        return None
    values = {}
    for name in ("pspid", "sha_in", "sha_out"):
        value = (settings.get(prefix + name) or "").strip()
        if not value:
            raise SettingsError(prefix + name, "is required")
        values[name] = value
    return PostFinanceEnvironment(
        name=env,
        url=_url(settings, prefix + "url"),
        userid=(settings.get(prefix + "userid") or "").strip(),
        password=(settings.get(prefix + "password") or "").strip(),
        query_url=_url(settings, prefix + "query_url", required=False),
        **values,
    )


def load(raw: Mapping[str, str]) -> Settings:
    """Checked settings from the (environment-merged) ini values."""
    base_url = _url(raw, "polybanking.base_url").rstrip("/")
    prefix = (raw.get("polybanking.orderid_prefix") or "polybanking").strip()
    if not prefix or not all(c.isascii() and (c.isalnum() or c == "_") for c in prefix):
        raise SettingsError("polybanking.orderid_prefix", "letters, digits and _ only")
    algorithm = (raw.get("postfinance.hash") or "sha512").strip().lower()
    if algorithm not in ALGORITHMS:
        raise SettingsError("postfinance.hash", f"one of {', '.join(ALGORITHMS)}")
    keys_raw = raw.get("postfinance.sha_out_keys")
    sha_out_keys = frozenset(keys_raw.upper().split()) if keys_raw else DEFAULT_SHA_OUT_KEYS
    test = _environment(raw, "test", required=True)
    assert test is not None
    return Settings(
        base_url=base_url,
        orderid_prefix=prefix,
        hash_algorithm=algorithm,
        sha_out_keys=sha_out_keys,
        test=test,
        prod=_environment(raw, "prod", required=False),
        language=(raw.get("polybanking.language") or "").strip(),
    )


def includeme(config) -> None:
    """Check the settings once at start-up and keep them on the registry."""
    merged = with_environment(config.get_settings())
    config.add_settings(merged)
    config.registry.pb_settings = load(merged)
