"""The Checkout sandbox answers the official SDK unchanged (PROTOCOL §11): JWT, Space, shapes, errors."""

import base64
import json

import pytest
from postfinancecheckout.exceptions import ApiException
from postfinancecheckout.models import TransactionState
from postfinancecheckout.service import SpacesService, TransactionsService, WebhookEncryptionKeysService

from ..checkout import SPACE, new_transaction, sdk_configuration

pytestmark = pytest.mark.usefixtures("app")


def test_create_read_page_url_and_search(settings):
    created = new_transaction(settings, 12.5, "polybanking-sdk-1")
    assert created.state == TransactionState.PENDING and created.authorization_amount == 12.5
    service = TransactionsService(sdk_configuration(settings))
    read = service.get_payment_transactions_id(created.id, SPACE)
    assert read.merchant_reference == "polybanking-sdk-1" and read.currency == "CHF"
    url = service.get_payment_transactions_id_payment_page_url(created.id, SPACE)
    assert url == settings.url(f"/sandbox/checkout/pay/{created.id}")
    found = service.get_payment_transactions_search(SPACE, query='merchantReference:"polybanking-sdk-1"')
    assert [t.id for t in found.data] == [created.id] and found.has_more is False


def test_a_wrong_key_is_refused_with_checkouts_error_body(settings):
    wrong = base64.b64encode(b"not the application user's key, though as long").decode()
    service = TransactionsService(sdk_configuration(settings, authentication_key=wrong))
    with pytest.raises(ApiException) as caught:
        service.get_payment_transactions_search(SPACE)
    assert caught.value.status == 401
    body = json.loads(caught.value.body)
    assert body["code"] and body["message"] and body["id"]


def test_another_space_is_refused(settings):
    created = new_transaction(settings)
    service = TransactionsService(sdk_configuration(settings))
    with pytest.raises(ApiException) as caught:
        service.get_payment_transactions_id(created.id, 4712)  # the live space, not this user's
    assert caught.value.status == 403
    live = TransactionsService(sdk_configuration(settings, test=False))
    with pytest.raises(ApiException) as caught:
        live.get_payment_transactions_id(created.id, 4712)  # the right user, but another space's id
    assert caught.value.status == 404


def test_a_token_for_another_request_or_stale_is_refused(settings, testapp):
    import time

    import jwt

    env = settings.checkout(True)
    secret = base64.b64decode(env.authentication_key)
    path = "/sandbox/checkout/api/v2.0/payment/transactions/search"

    def token(**claims):
        values = {
            "sub": env.user_id,
            "iat": int(time.time()),
            "requestPath": "/api/v2.0/payment/transactions/search",
        }
        values["requestMethod"] = "GET"
        values.update(claims)
        return jwt.encode(values, secret, algorithm="HS256", headers={"ver": 1})

    def ask(value, **headers):
        return testapp.get(
            path,
            headers={"Authorization": f"Bearer {value}", "Space": str(SPACE), **headers},
            expect_errors=True,
        )

    assert ask(token()).status_int == 200
    assert ask(token(requestPath="/api/v2.0/payment/transactions")).status_int == 401
    assert ask(token(requestMethod="POST")).status_int == 401
    assert ask(token(iat=int(time.time()) - 3600)).status_int == 401
    unversioned = jwt.encode(
        {
            "sub": env.user_id,
            "iat": int(time.time()),
            "requestPath": "/api/v2.0/payment/transactions/search",
            "requestMethod": "GET",
        },
        secret,
        algorithm="HS256",
    )
    assert ask(unversioned).status_int == 401
    assert testapp.get(path, headers={"Space": str(SPACE)}, expect_errors=True).status_int == 401


def test_the_encryption_key_is_a_p256_key_that_verifies_the_webhooks(app, settings):
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    signer = app.registry.checkout_sandbox_signer
    service = WebhookEncryptionKeysService(sdk_configuration(settings))
    key = load_der_public_key(base64.b64decode(service.get_webhooks_encryption_keys_id(signer.key_id)))
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    body = b'{"entityId": 1, "spaceId": 4711}'
    assert service.is_content_valid(signer.header(body), body.decode()) is True
    assert service.is_content_valid(signer.header(body), body.decode().replace("1", "2")) is False


def test_a_refund_is_read_with_its_transaction(app, settings):
    from postfinancecheckout.models import RefundState
    from postfinancecheckout.service import RefundsService

    created = new_transaction(settings, 8.0)
    store = app.registry.checkout_sandbox_store
    transaction = store.find(created.id)
    store.move(transaction, "FULFILL")
    refund = store.refund(transaction, transaction.amount)
    read = RefundsService(sdk_configuration(settings)).get_payment_refunds_id(refund["id"], SPACE)
    assert read.state == RefundState.SUCCESSFUL and read.amount == 8.0
    assert read.transaction.id == created.id and read.transaction.refunded_amount == 8.0


def test_the_api_answers_the_online_check(settings):
    assert SpacesService(sdk_configuration(settings)).get_spaces_id(SPACE).id == SPACE


def _refund_create(transaction_id: int, amount: float, external_id: str):
    from postfinancecheckout.models import RefundCreate, RefundType

    return RefundCreate(
        external_id=external_id,
        amount=amount,
        transaction=transaction_id,
        type=RefundType.MERCHANT_INITIATED_ONLINE,
    )


def test_refunds_through_the_sdk_end_by_their_cents_and_are_checked(app, settings):
    """…81 stays pending, …83 fails, more than is left or an unpaid transaction is refused,
    the same externalId is the same refund, and the JWT and Space are checked as for every call."""
    from postfinancecheckout.models import RefundState
    from postfinancecheckout.service import RefundsService

    created = new_transaction(settings, 50.0)
    service = RefundsService(sdk_configuration(settings))
    with pytest.raises(ApiException) as caught:
        service.post_payment_refunds(SPACE, _refund_create(created.id, 1.0, "r-0"))
    assert caught.value.status == 409  # not paid yet
    app.registry.checkout_sandbox_store.move(app.registry.checkout_sandbox_store.find(created.id), "FULFILL")
    states = [
        service.post_payment_refunds(SPACE, _refund_create(created.id, amount, f"r-{amount}")).state
        for amount in (10.81, 10.83, 5.0)
    ]
    assert states == [RefundState.PENDING, RefundState.FAILED, RefundState.SUCCESSFUL]
    again = service.post_payment_refunds(SPACE, _refund_create(created.id, 5.0, "r-5.0"))
    assert again.state == RefundState.SUCCESSFUL and again.external_id == "r-5.0"
    assert again.transaction.refunded_amount == 5.0  # once
    with pytest.raises(ApiException) as caught:
        service.post_payment_refunds(SPACE, _refund_create(created.id, 34.2, "r-big"))  # 50 - 10.81 - 5 left
    assert caught.value.status == 409
    with pytest.raises(ApiException) as caught:
        service.post_payment_refunds(4712, _refund_create(created.id, 1.0, "r-1"))
    assert caught.value.status == 403
    wrong = base64.b64encode(b"not the application user's key, though as long").decode()
    with pytest.raises(ApiException) as caught:
        RefundsService(sdk_configuration(settings, authentication_key=wrong)).post_payment_refunds(
            SPACE, _refund_create(created.id, 1.0, "r-1")
        )
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("method", "amount", "answer", "final"),
    [
        ("post_payment_transactions_id_complete_online", 12.0, "SUCCESSFUL", "FULFILL"),
        ("post_payment_transactions_id_complete_online", 12.81, "PENDING", "AUTHORIZED"),
        ("post_payment_transactions_id_complete_online", 12.91, "SUCCESSFUL", "COMPLETED"),  # risk checks
        ("post_payment_transactions_id_void_online", 12.0, "SUCCESSFUL", "VOIDED"),
        ("post_payment_transactions_id_void_online", 12.83, "FAILED", "AUTHORIZED"),
    ],
)
def test_completion_and_void_of_an_authorized_transaction(app, settings, method, amount, answer, final):
    """Each is read back by its id (``…/completions/{id}``, ``…/voids/{id}``) as it was answered."""
    created = new_transaction(settings, amount)
    service = TransactionsService(sdk_configuration(settings))
    with pytest.raises(ApiException) as caught:
        getattr(service, method)(created.id, SPACE)
    assert caught.value.status == 409  # not authorised yet
    held = app.registry.checkout_sandbox_store.find(created.id)
    app.registry.checkout_sandbox_store.move(held, "AUTHORIZED")
    done = getattr(service, method)(created.id, SPACE)
    assert (done.state.value, held.state) == (answer, final)
    with pytest.raises(ApiException) as caught:
        getattr(service, method)(created.id, 4712)
    assert caught.value.status == 403

    this, other = ("completions", "voids") if "complete" in method else ("voids", "completions")
    read = read_operation(settings, this, done.id)
    assert (read.id, read.state.value, read.linked_transaction) == (done.id, answer, created.id)
    with pytest.raises(ApiException) as caught:  # a completion is no void, and the other way round
        read_operation(settings, other, done.id)
    assert caught.value.status == 404


def read_operation(settings, entities: str, operation_id: int):
    """A completion or a void read back through the SDK (``entities``: completions or voids)."""
    from postfinancecheckout import service

    reader = getattr(service, f"Transaction{entities.capitalize()}Service")(sdk_configuration(settings))
    return getattr(reader, f"get_payment_transactions_{entities}_id")(operation_id, SPACE)
