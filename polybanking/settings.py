"""Reads and checks the ini keys at start-up (DESIGN.md, Settings); fails fast naming the bad key.

Any key may come from the environment instead: ``postfinance.prod.sha_in`` is read from
``POLYBANKING_POSTFINANCE_PROD_SHA_IN`` when that variable is set, so production.ini holds no secret.
"""

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .platforms.epayment.maintenance import default_maintenance_url
from .platforms.epayment.sha import ALGORITHMS, DEFAULT_SHA_OUT_KEYS

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
        for name in (
            "pspid",
            "sha_in",
            "sha_out",
            "url",
            "userid",
            "password",
            "query_url",
            "maintenance_url",
        )
    ),
    *(
        f"checkout.{env}.{name}"
        for env in ("test", "live")
        for name in ("space_id", "user_id", "authentication_key", "api_url")
    ),
    "checkout.timeout",
    "huey.backend",
    "huey.filename",
    "huey.url",
    "huey.immediate",
    "huey.name",
    "huey.enqueue_timeout_ms",  # the web process's wait for Redis (tasks/__init__.py checks them)
    "huey.breaker_seconds",
    "ipn.retry_schedule",
    "ipn.timeout",
    "ipn.scan_interval",
    "ipn.concurrency",
    "ipn.allow_private_destinations",
    "sandbox.enabled",
    "sandbox.postsale_url",
    "sandbox.ledger_file",
    "sandbox.checkout.webhook_url",
    "sandbox.shop.config_id",
    "sandbox.shop.key_request",
    "sandbox.shop.key_ipn",
    "sandbox.shop.checkout.config_id",
    "sandbox.shop.checkout.key_request",
    "sandbox.shop.checkout.key_ipn",
    "polybanking.language",
    # Production (issue 8): body limits, trusted reverse proxies, who may read /healthz and /metrics.
    "polybanking.max_body",
    "polybanking.max_upload",
    "polybanking.max_form",
    "polybanking.trusted_proxies",
    "polybanking.monitoring_from",
    "reconcile.inbox",
    "reconcile.archive",
    "reconcile.inbox_environment",
    "reconcile.stale_after",
    "reconcile.max_queries",
    "reconcile.give_up_after",
    "reconcile.query_timeout",
    "reconcile.upload_max_mb",
    # The admin web interface (polybanking/auth/settings.py checks them)
    "auth.backend",
    "session.secret",
    "session.secure",
    "polybanking.timezone",
    "tequila.server",
    "tequila.service",
    "tequila.autocreate",
    "tequila.timeout",
)

DEFAULT_TIMEZONE = "Europe/Zurich"


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
    #: DirectLink maintenance (PROTOCOL §10); default: ``querydirect.asp`` → ``maintenancedirect.asp``.
    maintenance_url: str = ""


CHECKOUT_API_URL = "https://checkout.postfinance.ch/api/v2.0"


@dataclass(frozen=True)
class CheckoutEnvironment:
    """One PostFinance Checkout space (PROTOCOL §11): its application user and API address."""

    name: str
    space_id: int
    user_id: int
    authentication_key: str
    api_url: str = CHECKOUT_API_URL

    def __repr__(self) -> str:  # never show the key
        return f"<CheckoutEnvironment {self.name} space {self.space_id} at {self.api_url}>"


def _checkout(settings: Mapping[str, str], env: str) -> CheckoutEnvironment | None:
    """``checkout.<env>.*``, or None when the space is not set at all; a half-set one is an error."""
    prefix = f"checkout.{env}."
    names = ("space_id", "user_id", "authentication_key")
    values = {name: (settings.get(prefix + name) or "").strip() for name in names}
    if not any(values.values()):
        return None
    for name in ("space_id", "user_id"):
        value = values[name]
        if not (value.isascii() and value.isdigit()) or not 0 < len(value) <= 18 or int(value) <= 0:
            raise SettingsError(prefix + name, f"must be a positive whole number, not {value!r}")
    key = values["authentication_key"]
    if not key:
        raise SettingsError(prefix + "authentication_key", "is required")
    try:  # the SDK signs its requests with the decoded key: refuse one it cannot decode now
        if not base64.b64decode(key, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        raise SettingsError(prefix + "authentication_key", "must be the base64 key Checkout shows") from None
    return CheckoutEnvironment(
        name=env,
        space_id=int(values["space_id"]),
        user_id=int(values["user_id"]),
        authentication_key=key,
        api_url=(_url(settings, prefix + "api_url", required=False) or CHECKOUT_API_URL).rstrip("/"),
    )


@dataclass(frozen=True)
class ReconcileSettings:
    """Reconciliation with PostFinance (reports, DirectLink status checks)."""

    #: Folder watched for reports ("" = no inbox), and where read reports are moved.
    inbox: str = ""
    archive: str = ""
    #: Environment the inbox's reports are compared with.
    inbox_live: bool = False
    #: A forwarded transaction without feedback for this long is asked about (DirectLink).
    stale_after: timedelta = timedelta(minutes=30)
    #: At most this many questions per transaction and status, and none after this age.
    max_queries: int = 6
    give_up_after: timedelta = timedelta(hours=48)
    #: The largest report the admin page accepts (a million lines are about 300 MB; a month of a
    #: busy account is a few MB); bigger ones go through the command or the inbox.
    upload_max_bytes: int = 100 * 1024 * 1024


def _positive_int(raw: Mapping[str, str], key: str, default: int) -> int:
    value = (raw.get(key) or "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) <= 0 or len(value) > 9:
        raise SettingsError(key, f"must be a positive whole number, not {value!r}")
    return int(value)


def load_reconcile(raw: Mapping[str, str]) -> ReconcileSettings:
    inbox = (raw.get("reconcile.inbox") or "").strip()
    archive = (raw.get("reconcile.archive") or "").strip()
    if inbox and not archive:
        archive = os.path.join(inbox, "archive")
    environment = (raw.get("reconcile.inbox_environment") or "test").strip().lower()
    if environment not in ("test", "live"):
        raise SettingsError("reconcile.inbox_environment", f"test or live, not {environment!r}")
    return ReconcileSettings(
        inbox=inbox,
        archive=archive,
        inbox_live=environment == "live",
        stale_after=timedelta(minutes=_positive_int(raw, "reconcile.stale_after", 30)),
        max_queries=_positive_int(raw, "reconcile.max_queries", 6),
        give_up_after=timedelta(hours=_positive_int(raw, "reconcile.give_up_after", 48)),
        upload_max_bytes=_positive_int(raw, "reconcile.upload_max_mb", 100) * 1024 * 1024,
    )


@dataclass(frozen=True)
class Settings:
    base_url: str
    orderid_prefix: str
    hash_algorithm: str
    sha_out_keys: frozenset[str]
    test: PostFinanceEnvironment
    prod: PostFinanceEnvironment | None
    language: str = ""
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    #: The organisation's time zone: where a day or a month of the reports begins and ends.
    timezone: str = DEFAULT_TIMEZONE
    #: ``ipn.allow_private_destinations``: a config's IPN URL may be a loopback or private address.
    allow_private_destinations: bool = False
    checkout_test: CheckoutEnvironment | None = None
    checkout_live: CheckoutEnvironment | None = None
    #: How long a shopper waits at most for one Checkout call (``go``, the return).
    checkout_timeout: float = 10.0

    def checkout(self, test_mode: bool) -> CheckoutEnvironment:
        """The Checkout space a Checkout config uses; SettingsError naming the key when unset."""
        env = self.checkout_test if test_mode else self.checkout_live
        if env is None:
            name = "test" if test_mode else "live"
            raise SettingsError(
                f"checkout.{name}.space_id", f"{name} Checkout configs need the checkout.{name}.* settings"
            )
        return env

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches its instances

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
    query_url = _url(settings, prefix + "query_url", required=False)
    return PostFinanceEnvironment(
        name=env,
        url=_url(settings, prefix + "url"),
        userid=(settings.get(prefix + "userid") or "").strip(),
        password=(settings.get(prefix + "password") or "").strip(),
        query_url=query_url,
        maintenance_url=_url(settings, prefix + "maintenance_url", required=False)
        or default_maintenance_url(query_url),
        **values,
    )


def _timezone(raw: Mapping[str, str]) -> str:
    """An IANA zone name (tzdata ships with the package, so no system database is needed)."""
    key = "polybanking.timezone"
    name = (raw.get(key) or DEFAULT_TIMEZONE).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(key, f"unknown time zone {name!r} (e.g. Europe/Zurich)") from None
    return name


def allow_private_destinations(raw: Mapping[str, str]) -> bool:
    """``ipn.allow_private_destinations``: true, or false (the default); anything else stops start-up."""
    key = "ipn.allow_private_destinations"
    text = (raw.get(key) or "false").strip().lower()
    if text not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        raise SettingsError(key, f"true or false, not {text!r}")
    return as_bool(text)


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
        reconcile=load_reconcile(raw),
        timezone=_timezone(raw),
        allow_private_destinations=allow_private_destinations(raw),
        checkout_test=_checkout(raw, "test"),
        checkout_live=_checkout(raw, "live"),
        checkout_timeout=float(_positive_int(raw, "checkout.timeout", 10)),
    )


def includeme(config) -> None:
    """Check the settings once at start-up and keep them on the registry."""
    merged = with_environment(config.get_settings())
    config.add_settings(merged)
    config.registry.pb_settings = load(merged)
