"""Reading DirectLink maintenance answers (PROTOCOL §10) as platform-neutral answers."""

import pytest

from polybanking.platforms import ACCEPTED, PENDING, REFUSED
from polybanking.platforms.epayment.maintenance import (
    default_maintenance_url,
    maintenance_fields,
    operation_code,
    read_answer,
)

from ....website import postfinance_sha


@pytest.mark.parametrize(
    ("kind", "values", "outcome"),
    [
        ("refund", {"NCERROR": "0", "STATUS": "8"}, ACCEPTED),
        ("refund", {"NCERROR": "0", "STATUS": "81"}, PENDING),
        ("refund", {"NCERROR": "0", "STATUS": "83"}, REFUSED),
        ("refund", {"NCERROR": "50001048", "STATUS": ""}, REFUSED),
        ("refund", {"STATUS": "8"}, REFUSED),  # no NCERROR: not an acceptance
        ("capture", {"NCERROR": "0", "STATUS": "9"}, ACCEPTED),
        ("capture", {"NCERROR": "0", "STATUS": "91"}, PENDING),
        ("cancel", {"NCERROR": "0", "STATUS": "6"}, ACCEPTED),
        ("cancel", {"NCERROR": "0", "STATUS": "61"}, PENDING),
        ("cancel", {"NCERROR": "0", "STATUS": "8"}, REFUSED),
    ],
)
def test_outcomes(kind, values, outcome):
    answer = read_answer(kind, {"PAYID": "42", "PAYIDSUB": "3", **values})
    assert answer.outcome == outcome
    assert (answer.platform_id, answer.sequence) == ("42/3", 3)


def test_a_refusal_says_why():
    answer = read_answer("refund", {"NCERROR": "50001048", "NCERRORPLUS": "amount too high"})
    assert answer.message == "NCERROR 50001048: amount too high" and answer.sequence is None


def test_the_request_is_signed_over_every_field_sent():
    fields = maintenance_fields(
        pspid="P", userid="U", password="pw", pay_id="42", order_id="pb-1", amount_cents=250,
        operation=operation_code("refund", final=False), sha_in="secret", algorithm="sha512",
    )  # fmt: skip
    assert fields["OPERATION"] == "RFD" and "ORDERID" not in fields
    unsigned = {name: value for name, value in fields.items() if name != "SHASIGN"}
    assert fields["SHASIGN"] == postfinance_sha(unsigned, "secret")
    assert operation_code("refund", True) == "RFS" and operation_code("capture", True) == "SAS"
    assert operation_code("cancel", False) == "DEL"


def test_the_maintenance_url_sits_beside_the_query_url():
    assert default_maintenance_url("https://e-payment.postfinance.ch/ncol/prod/querydirect.asp") == (
        "https://e-payment.postfinance.ch/ncol/prod/maintenancedirect.asp"
    )
    assert default_maintenance_url("") == ""


def test_no_answer_is_platform_unavailable_and_the_password_is_not_in_the_message():
    from polybanking.platforms import OperationOrder, PlatformUnavailable
    from polybanking.platforms.epayment.platform import EpaymentPlatform

    order = OperationOrder("refund", "pb-1", "42", 100, final=True, reference="1-1")
    closed = EpaymentPlatform(
        url="http://127.0.0.1:9/", pspid="P", sha_in="s", algorithm="sha512", userid="U",
        password="hunter2-secret", maintenance_url="http://127.0.0.1:9/maintenancedirect.asp", timeout=2,
    )  # fmt: skip
    with pytest.raises(PlatformUnavailable) as caught:
        closed.operate(order)
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(closed)
    without_user = EpaymentPlatform(url="http://127.0.0.1:9/", pspid="P", sha_in="s", algorithm="sha512")
    with pytest.raises(PlatformUnavailable, match="API user"):
        without_user.operate(order)
