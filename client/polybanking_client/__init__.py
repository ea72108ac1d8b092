"""PolyBanking's Python client for websites (``pip install polybanking-client``; needs requests only).

from polybanking_client import PolyBanking

api = PolyBanking("https://pay.example.org", config_id, key_request, key_ipn, key_api)
status, url = api.new_transaction(1250, "order-42")   # send the shopper to url
is_ok, message, reference, status, good, when = api.check_ipn(request.form)   # in your IPN view
event = api.check_ipn_json(request.headers, request.get_data())   # a config with JSON IPNs
api.get_transactions(), api.get_transaction("order-42"), api.get_transaction_logs("order-42")
api.refund("order-42", idempotency_key="refund-42-1", amount=500)   # if the config allows it
"""

from .client import IpnCheck, IpnEvent, PolyBanking, Refund, StartResult, reference_path
from .errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    InvalidIPN,
    PaymentRefused,
    PolyBankingError,
    RefundRefused,
    TransactionNotFound,
    TransportError,
)
from .signing import compute_sign

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequest",
    "InvalidIPN",
    "IpnCheck",
    "IpnEvent",
    "PaymentRefused",
    "PolyBanking",
    "PolyBankingError",
    "Refund",
    "RefundRefused",
    "StartResult",
    "TransactionNotFound",
    "TransportError",
    "compute_sign",
    "reference_path",
]
