"""PostFinance e-payment as a :class:`~polybanking.platforms.Platform`: one account environment."""

from dataclasses import dataclass

from .. import EPAYMENT, OperationAnswer, OperationOrder, PaymentOrder, PaymentPage, PlatformUnavailable
from . import directlink, maintenance
from .form import payment_form


@dataclass(frozen=True)
class EpaymentPlatform:
    """An e-payment environment (test or prod): its hosted page, PSPID and SHA-IN passphrase, and
    for operations its DirectLink API user and ``maintenancedirect.asp``."""

    url: str
    pspid: str
    sha_in: str
    algorithm: str
    name: str = EPAYMENT
    userid: str = ""
    password: str = ""
    maintenance_url: str = ""
    timeout: float = 20.0

    def __repr__(self) -> str:  # never show the passphrase nor the password
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

    def operate(self, order: OperationOrder) -> OperationAnswer:
        """DirectLink maintenance (PROTOCOL §10); PlatformUnavailable without an API user or answer."""
        if not (self.userid and self.password and self.maintenance_url):
            raise PlatformUnavailable("no DirectLink API user or maintenance_url for this environment")
        fields = maintenance.maintenance_fields(
            pspid=self.pspid,
            userid=self.userid,
            password=self.password,
            pay_id=order.payment_id,
            order_id=order.order_id,
            amount_cents=order.amount_cents,
            operation=maintenance.operation_code(order.kind, order.final),
            sha_in=self.sha_in,
            algorithm=self.algorithm,
        )
        try:
            answer = directlink.query(self.maintenance_url, fields, timeout=self.timeout)
        except directlink.DirectLinkError as error:
            raise PlatformUnavailable(str(error)) from None
        return maintenance.read_answer(order.kind, answer.values)
