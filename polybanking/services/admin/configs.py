"""Creating and changing website configs from the admin pages, each change in the config's log.

The log says who changed what and when, in words (``url_ipn: 'a' → 'b'``); secrets are never
written there, only the fact that one was regenerated.
"""

import logging
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Config, ConfigLog, User
from ...models.config import IPN_FORM, IPN_FORMATS, IPN_JSON, SECRET_FIELDS, generate_secret
from ...models.meta import MAX_ROW_ID
from ...platforms import CHECKOUT, EPAYMENT, PLATFORMS
from ...settings import Settings
from ..ipn.destinations import url_problem
from ..payments.start import MAX_AMOUNT

log = logging.getLogger(__name__)

URL_MAX_LENGTH = 2048


class ConfigError(ValueError):
    """Invalid input; ``errors`` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ConfigValues:
    """What an administrator may set on a config (keys are generated, never typed in)."""

    name: str
    url_ipn: str
    url_back_ok: str
    url_back_err: str
    group: str
    max_amount: int | None
    test_mode: bool
    platform: str = EPAYMENT
    ipn_format: str = IPN_FORM


LABELS = {
    "name": "name",
    "url_ipn": "IPN URL",
    "url_back_ok": "return URL (success)",
    "url_back_err": "return URL (error)",
    "group": "group",
    "max_amount": "maximum amount",
    "test_mode": "environment",
    "platform": "platform",
    "ipn_format": "IPN body",
    "active": "active",
    "admin_enable": "enabled by the administrators",
    "api_refunds": "refunds through the API",
}


#: How people read the IPN formats (the form, the change log, the config's page).
IPN_FORMAT_NAMES = {IPN_FORM: "form (PROTOCOL §6, as in 2014)", IPN_JSON: "JSON (Standard Webhooks)"}


def _url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > URL_MAX_LENGTH:
        return None
    return value


def parse_chf(text: str) -> int | None:
    """``"12.50"`` → 1250 cents; None when empty. Raises ValueError on anything else."""
    text = text.strip().replace("'", "").replace("CHF", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("write it in francs, such as 250 or 99.50") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("a positive amount in francs, such as 250 or 99.50")
    if amount * 100 > MAX_AMOUNT:  # before quantize, which fails on huge numbers
        raise ValueError(f"at most {MAX_AMOUNT // 100:,} francs".replace(",", "'"))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("at most two decimals (centimes), such as 99.50")
    return int(amount * 100)


def parse_form(form: dict[str, str], settings: Settings) -> ConfigValues:
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name or len(name) > 255:
        errors["name"] = "1 to 255 characters"
    urls = {}
    for field in ("url_ipn", "url_back_ok", "url_back_err"):
        value = form.get(field, "").strip()
        urls[field] = _url(value) or ""
        if not urls[field]:
            errors[field] = "an http(s) URL"
    # The gateway posts to the IPN URL itself (the return URLs are the shopper's browser's).
    problem = urls["url_ipn"] and url_problem(urls["url_ipn"], settings.allow_private_destinations)
    if problem:
        errors["url_ipn"] = problem
    group = form.get("group", "").strip()
    if len(group) > 255:
        errors["group"] = "at most 255 characters"
    try:
        max_amount = parse_chf(form.get("max_amount", ""))
    except ValueError as error:
        errors["max_amount"] = f"in francs (CHF): {error}; leave it empty for no maximum"
        max_amount = None
    test_mode = form.get("environment", "test") != "live"
    if not test_mode and settings.prod is None:
        errors["environment"] = "live configs need the postfinance.prod.* settings"
    platform = form.get("platform", EPAYMENT)
    if platform not in PLATFORMS:
        errors["platform"] = f"one of {', '.join(PLATFORMS)}"
    elif platform == CHECKOUT and (settings.checkout_test if test_mode else settings.checkout_live) is None:
        errors["platform"] = f"Checkout needs the checkout.{'test' if test_mode else 'live'}.* settings"
    ipn_format = form.get("ipn_format", IPN_FORM)
    if ipn_format not in IPN_FORMATS:
        errors["ipn_format"] = f"one of {', '.join(IPN_FORMATS)}"
    if any("\x00" in value for value in form.values()):
        errors["name"] = "NUL characters are not allowed"
    if errors:
        raise ConfigError(errors)
    return ConfigValues(
        name=name,
        group=group,
        max_amount=max_amount,
        test_mode=test_mode,
        platform=platform,
        ipn_format=ipn_format,
        **urls,
    )


def environment_problem(
    current_test_mode: bool | None, values: ConfigValues, may_switch: bool, confirmed: bool
) -> str:
    """Why this choice of test or live is refused, or "". Which PostFinance account takes the
    payments, and whether websites are told they are real, is a superuser's decision, taken
    knowingly (a confirmation); ``current_test_mode`` is None for a new config."""
    if current_test_mode is None:
        if not values.test_mode and not may_switch:
            return "only a superuser can create a live config; create it in test"
        return ""
    if values.test_mode == current_test_mode:
        return ""
    if not may_switch:
        return "only a superuser can switch a config between test and live"
    if not confirmed:
        target = "test" if values.test_mode else "live"
        return f"tick the confirmation to switch this config to {target}"
    return ""


def named(dbsession: Session, name: str) -> Config | None:
    """The config with exactly this name, if any (names are unique: see :func:`check_name_free`)."""
    return dbsession.scalar(select(Config).where(Config.name == name).order_by(Config.id).limit(1))


def check_name_free(dbsession: Session, name: str, config: Config | None = None) -> None:
    """ConfigError unless no other config has this name: people and commands name configs, and
    two of the same name could not be told apart."""
    other = named(dbsession, name)
    if other is not None and other is not config:
        raise ConfigError({"name": f"config {other.id} already has this name; choose another"})


def find(dbsession: Session, text: str) -> Config | None:
    """The config named by a number (its id) or by its exact name, as commands accept either."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ROW_ID:
        config = dbsession.get(Config, int(text))
        if config is not None:
            return config
    return named(dbsession, text) if text and "\x00" not in text else None


def listing(dbsession: Session) -> list[dict]:
    """Every config, without its keys (``config list``)."""
    configs = dbsession.scalars(select(Config).order_by(Config.id))
    return [
        {
            "id": c.id,
            "name": c.name,
            "group": c.group or "",
            "test_mode": c.test_mode,
            "active": c.active,
            "admin_enable": c.admin_enable,
            "max_amount": c.max_amount,
            "url_ipn": c.url_ipn,
            "ipn_format": c.ipn_format,
        }
        for c in configs
    ]


def _shown(field: str, value) -> str:
    if field == "test_mode":
        return "test" if value else "live"
    if field == "ipn_format":
        return IPN_FORMAT_NAMES.get(value, repr(value))
    if field == "max_amount":
        return "none" if value is None else f"CHF {value / 100:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return repr(value)


def add_log(dbsession: Session, config: Config, user: User | None, text: str) -> None:
    dbsession.add(ConfigLog(config=config, user=user, text=text))


def create(dbsession: Session, values: ConfigValues, user: User) -> Config:
    """A new config with fresh keys; its creator is allowed on it (staff see only their configs)."""
    check_name_free(dbsession, values.name)
    config = Config(**{f.name: getattr(values, f.name) for f in fields(values)})
    if not user.is_superuser:
        config.allowed_users.append(user)
    dbsession.add(config)
    dbsession.flush()
    add_log(dbsession, config, user, "created (keys generated)")
    log.info("config %s created by %s", config.id, user.username)
    return config


def update(dbsession: Session, config: Config, values: ConfigValues, user: User) -> list[str]:
    if values.name != config.name:
        check_name_free(dbsession, values.name, config)
    changes = []
    for field in fields(values):
        new = getattr(values, field.name)
        old = getattr(config, field.name)
        if new != old:
            setattr(config, field.name, new)
            changes.append(f"{LABELS[field.name]}: {_shown(field.name, old)} → {_shown(field.name, new)}")
    if changes:
        add_log(dbsession, config, user, "; ".join(changes))
    return changes


def set_flag(dbsession: Session, config: Config, flag: str, value: bool, user: User) -> bool:
    """``active`` (the site's own switch), ``admin_enable`` or ``api_refunds`` (the administrators')."""
    if flag not in ("active", "admin_enable", "api_refunds"):
        raise ValueError(flag)
    if getattr(config, flag) == value:
        return False
    setattr(config, flag, value)
    add_log(dbsession, config, user, f"{LABELS[flag]}: {_shown(flag, not value)} → {_shown(flag, value)}")
    return True


def regenerate_key(dbsession: Session, config: Config, key_name: str, user: User) -> None:
    if key_name not in SECRET_FIELDS:
        raise ValueError(key_name)
    setattr(config, key_name, generate_secret())
    add_log(dbsession, config, user, f"{key_name} regenerated (the old one no longer works)")
    log.info("config %s: %s regenerated by %s", config.id, key_name, user.username)


#: The config's lists of users, and how their changes are logged.
USER_LISTS = {
    "allowed_users": ("allowed", "no longer allowed"),
    "operators": ("may refund, capture and cancel", "may no longer refund, capture and cancel"),
}


def set_allowed_users(
    dbsession: Session, config: Config, user_ids: set[int], user: User, relation: str = "allowed_users"
) -> list[str]:
    """Set one of USER_LISTS (who sees the config; who may operate on its payments)."""
    granted, taken = USER_LISTS[relation]
    wanted = set(dbsession.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else set()
    current = set(getattr(config, relation))
    added = sorted(u.username for u in wanted - current)
    removed = sorted(u.username for u in current - wanted)
    setattr(config, relation, sorted(wanted, key=lambda u: u.id))
    changes = [f"{granted}: {name}" for name in added] + [f"{taken}: {name}" for name in removed]
    if changes:
        add_log(dbsession, config, user, "; ".join(changes))
    return changes


def allow(dbsession: Session, config: Config, user: User, allowed: bool, acting: User | None) -> bool:
    """Allow or deny one user (the CLI's ``config allow`` / ``config deny``); False if no change."""
    present = user in config.allowed_users
    if present == allowed:
        return False
    if allowed:
        config.allowed_users.append(user)
    else:
        config.allowed_users.remove(user)
    add_log(dbsession, config, acting, f"{'allowed' if allowed else 'no longer allowed'}: {user.username}")
    return True
