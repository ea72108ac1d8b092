"""E-payment behind the platform seam: the services' order becomes PROTOCOL §3's signed form."""

from polybanking.platforms import PaymentOrder
from polybanking.platforms.epayment.platform import EpaymentPlatform
from polybanking.platforms.epayment.sha import check_sha

PLATFORM = EpaymentPlatform(
    url="https://pf.example/ncol/test/orderstandard_utf8.asp",
    pspid="MyPSPID",
    sha_in="Mysecretsig1875!?",
    algorithm="sha512",
)


def test_begin_payment_is_the_signed_form_posted_to_the_hosted_page():
    order = PaymentOrder(
        order_id="polybanking-12", amount_cents=1500, return_url="https://gw/r", language="fr_FR"
    )
    page = PLATFORM.begin_payment(order)
    assert page.url == "https://pf.example/ncol/test/orderstandard_utf8.asp"
    assert page.platform_id == ""
    fields = dict(page.fields)
    assert fields["PSPID"] == "MyPSPID"
    assert (fields["ORDERID"], fields["AMOUNT"], fields["CURRENCY"]) == ("polybanking-12", "1500", "CHF")
    assert {fields[name] for name in ("ACCEPTURL", "DECLINEURL", "EXCEPTIONURL", "CANCELURL")} == {
        "https://gw/r"
    }
    assert fields["LANGUAGE"] == "fr_FR"
    signature = fields.pop("SHASIGN")
    assert check_sha(fields, signature, "Mysecretsig1875!?", "sha512", fields.keys())
    assert not check_sha(fields, signature, "another passphrase", "sha512", fields.keys())


def test_the_passphrase_is_never_shown():
    assert "Mysecretsig" not in repr(PLATFORM)
    assert "MyPSPID" in repr(PLATFORM)
