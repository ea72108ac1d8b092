"""A faithful stand-in for PostFinance Checkout (PROTOCOL §11), for development, tests and demos.

Its API lives under ``/sandbox/checkout/api/v2.0`` and answers the official SDK unchanged (JWT,
``Space`` header, JSON shapes, error bodies), with the ini's ``checkout.test.*`` and
``checkout.live.*`` credentials. Its hosted page plays the shopper's choice and sends the signed
webhooks of each state on the way to ``sandbox.checkout.webhook_url`` (default: the gateway's own
``/paiements/checkout/webhook``). Like the e-payment sandbox, it never reads the gateway's models.
"""

from .auth import Account
from .signer import Signer
from .store import Store

API = "/sandbox/checkout/api/v2.0"


def accounts(settings) -> list[Account]:
    """The spaces the sandbox plays: those the gateway's settings name."""
    return [
        Account(space_id=env.space_id, user_id=env.user_id, key=env.authentication_key)
        for env in (settings.checkout_test, settings.checkout_live)
        if env is not None
    ]


def includeme(config) -> None:
    settings = config.get_settings()
    registry = config.registry
    registry.checkout_sandbox_store = Store()
    registry.checkout_sandbox_signer = Signer()
    registry.checkout_sandbox_webhook_url = (settings.get("sandbox.checkout.webhook_url") or "").strip() or (
        registry.pb_settings.url("/paiements/checkout/webhook")
    )
    config.add_route("sandbox.checkout.create", API + "/payment/transactions")
    config.add_route("sandbox.checkout.search", API + "/payment/transactions/search")
    config.add_route("sandbox.checkout.export", API + "/payment/transactions/export")
    config.add_route("sandbox.checkout.read", API + "/payment/transactions/{id:\\d+}")
    config.add_route("sandbox.checkout.page_url", API + "/payment/transactions/{id:\\d+}/payment-page-url")
    config.add_route("sandbox.checkout.refund", API + "/payment/refunds/{id:\\d+}")
    config.add_route("sandbox.checkout.refunds", API + "/payment/refunds")
    config.add_route("sandbox.checkout.refund_search", API + "/payment/refunds/search")
    config.add_route("sandbox.checkout.complete", API + "/payment/transactions/{id:\\d+}/complete-online")
    config.add_route("sandbox.checkout.void", API + "/payment/transactions/{id:\\d+}/void-online")
    config.add_route("sandbox.checkout.completion", API + "/payment/transactions/completions/{id:\\d+}")
    config.add_route("sandbox.checkout.void_read", API + "/payment/transactions/voids/{id:\\d+}")
    config.add_route("sandbox.checkout.completion_search", API + "/payment/transactions/completions/search")
    config.add_route("sandbox.checkout.void_search", API + "/payment/transactions/voids/search")
    config.add_route("sandbox.checkout.key", API + "/webhooks/encryption-keys/{id}")
    config.add_route("sandbox.checkout.space", API + "/spaces/{id:\\d+}")
    config.add_route("sandbox.checkout.pay", "/sandbox/checkout/pay/{id:\\d+}")
    config.add_route("sandbox.checkout.transactions", "/sandbox/checkout/transactions")
    config.add_route("sandbox.checkout.download", "/sandbox/checkout/export.csv")
    config.scan(".api")
    config.scan(".pages")
    config.scan(".operations")
