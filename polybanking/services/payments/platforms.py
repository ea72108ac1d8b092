"""Which platform a config pays through, built from the settings: the one place services choose."""

from sqlalchemy import Row

from ...models import Config
from ...platforms import CHECKOUT, Platform
from ...platforms.checkout.platform import CheckoutPlatform
from ...platforms.epayment.platform import EpaymentPlatform
from ...settings import CheckoutEnvironment, Settings


def checkout_platform(settings: Settings, env: CheckoutEnvironment) -> CheckoutPlatform:
    return CheckoutPlatform(
        space_id=env.space_id,
        user_id=env.user_id,
        authentication_key=env.authentication_key,
        api_url=env.api_url,
        timeout=settings.checkout_timeout,
    )


def platform_for(settings: Settings, config: Config | Row) -> Platform:
    """The platform of ``config``'s environment (a Config, or a row with its ``platform`` and
    ``test_mode``); SettingsError when that environment is not set."""
    if config.platform == CHECKOUT:
        return checkout_platform(settings, settings.checkout(config.test_mode))
    env = settings.environment(config.test_mode)
    return EpaymentPlatform(
        url=env.url,
        pspid=env.pspid,
        sha_in=env.sha_in,
        algorithm=settings.hash_algorithm,
        userid=env.userid,
        password=env.password,
        maintenance_url=env.maintenance_url,
    )


def return_url(settings: Settings, config: Config | Row, token: str) -> str:
    """Where the platform sends the shopper back: e-payment's signed answer comes to one URL for
    all; Checkout's carries nothing, so the URL names the payment (by its unguessable token)."""
    if config.platform == CHECKOUT:
        return settings.url(f"/paiements/checkout/return/{token}")
    return settings.url("/paiements/return")
