"""The admin web interface's ini keys, checked at start-up (fails fast naming the key).

``auth.backend``       local (argon2 passwords, the default) | tequila (EPFL's single sign-on)
``session.secret``     signs the session cookie; at least 32 characters; from the environment in
                       production (POLYBANKING_SESSION_SECRET)
``session.secure``     Secure cookies (HTTPS only); default: true when polybanking.production is
``polybanking.timezone``  where the organisation's dates are shown (default Europe/Zurich)
``tequila.server``     default https://tequila.epfl.ch
``tequila.service``    the name Tequila shows on its sign-in page
``tequila.autocreate`` create an account (no rights) on a first Tequila sign-in; default false
``tequila.timeout``    seconds for each call to the Tequila server (default 5: sign-in waits for it)
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..settings import SettingsError, as_bool

BACKENDS = ("local", "tequila")
MIN_SECRET_LENGTH = 32
DEFAULT_TEQUILA_SERVER = "https://tequila.epfl.ch"

KEYS = (
    "auth.backend",
    "session.secret",
    "session.secure",
    "polybanking.timezone",
    "tequila.server",
    "tequila.service",
    "tequila.autocreate",
    "tequila.timeout",
)


@dataclass(frozen=True)
class TequilaSettings:
    server: str
    service: str
    autocreate: bool
    timeout: float


@dataclass(frozen=True)
class AdminSettings:
    backend: str
    session_secret: str
    session_secure: bool
    timezone: ZoneInfo
    tequila: TequilaSettings | None

    @property
    def form_targets(self) -> list[str]:
        """Origins admin forms may lead to (CSP form-action also covers the redirect after a POST)."""
        return [self.tequila.server] if self.tequila else []


def _text(raw: Mapping[str, str], key: str, default: str = "") -> str:
    return (raw.get(key) or default).strip()


def _tequila(raw: Mapping[str, str]) -> TequilaSettings:
    server = _text(raw, "tequila.server", DEFAULT_TEQUILA_SERVER).rstrip("/")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("tequila.server", f"must be an http(s) URL, not {server!r}")
    try:
        timeout = float(_text(raw, "tequila.timeout", "5"))
    except ValueError:
        raise SettingsError("tequila.timeout", "must be a number of seconds") from None
    if not 0 < timeout <= 30:
        raise SettingsError("tequila.timeout", "between 0 and 30 seconds: sign-in waits for it")
    return TequilaSettings(
        server=server,
        service=_text(raw, "tequila.service", "PolyBanking"),
        autocreate=as_bool(raw.get("tequila.autocreate", "false")),
        timeout=timeout,
    )


def load(raw: Mapping[str, str]) -> AdminSettings:
    backend = _text(raw, "auth.backend", "local").lower()
    if backend not in BACKENDS:
        raise SettingsError("auth.backend", f"one of {', '.join(BACKENDS)}, not {backend!r}")
    secret = _text(raw, "session.secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError("session.secret", f"is required, at least {MIN_SECRET_LENGTH} characters")
    production = as_bool(raw.get("polybanking.production", "false"))
    secure = as_bool(raw.get("session.secure", str(production)))
    if production and not secure:
        raise SettingsError("session.secure", "must be true in production (cookies over HTTPS only)")
    zone_name = _text(raw, "polybanking.timezone", "Europe/Zurich")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError("polybanking.timezone", f"unknown time zone {zone_name!r}") from None
    return AdminSettings(
        backend=backend,
        session_secret=secret,
        session_secure=secure,
        timezone=zone,
        tequila=_tequila(raw) if backend == "tequila" else None,
    )
