"""PostFinance e-payment as a :class:`~polybanking.platforms.Platform`: one account environment."""

from dataclasses import dataclass

from .. import EPAYMENT, PaymentOrder, PaymentPage
from .form import payment_form


@dataclass(frozen=True)
class EpaymentPlatform:
    """An e-payment environment (test or prod): its hosted page, PSPID and SHA-IN passphrase."""

    url: str
    pspid: str
    sha_in: str
    algorithm: str
    name: str = EPAYMENT

    def __repr__(self) -> str:  # never show the passphrase
        return f"<EpaymentPlatform {self.pspid} at {self.url}>"

    def begin_payment(self, order: PaymentOrder) -> PaymentPage:
        """The SHA-IN signed form of PROTOCOL §3, posted by the shopper's browser."""
        fields = payment_form(
            pspid=self.pspid,
            order_id=order.order_id,
            amount_cents=order.amount_cents,
            return_url=order.return_url,
            sha_in=self.sha_in,
            algorithm=self.algorithm,
            currency=order.currency,
            language=order.language,
        )
        return PaymentPage(url=self.url, fields=fields)
