"""The sandbox's webhook signing key (P-256) and the signed webhooks it sends (PROTOCOL §11).

``X-Signature: algorithm=SHA256withECDSA, keyId=<id>, signature=<base64 DER>`` over the body's
bytes; the public key is published as base64 DER at ``/webhooks/encryption-keys/{keyId}``.
"""

import base64
import json
import logging
import uuid

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .store import timestamp

log = logging.getLogger(__name__)

TIMEOUT = 10


class Signer:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = str(uuid.uuid4())

    @property
    def public_key(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def header(self, body: bytes) -> str:
        signature = self.key.sign(body, ec.ECDSA(hashes.SHA256()))
        return (
            f"algorithm=SHA256withECDSA, keyId={self.key_id}, "
            f"signature={base64.b64encode(signature).decode()}"
        )


def webhook_body(
    event_id: int, space_id: int, entity_id: int, state: str, entity: str = "Transaction"
) -> bytes:
    """A webhook as Checkout sends it: it names the entity and its state, nothing to trust."""
    return json.dumps(
        {
            "eventId": event_id,
            "entityId": entity_id,
            "listenerEntityId": 1472041829003 if entity == "Transaction" else 1472041839405,
            "listenerEntityTechnicalName": entity,
            "spaceId": space_id,
            "webhookListenerId": 4711,
            "timestamp": timestamp(),
            "state": state,
        }
    ).encode()


def send(url: str, signer: Signer, body: bytes) -> int | None:
    """POST one signed webhook; its HTTP status, or None when the gateway could not be reached."""
    try:
        answer = requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Signature": signer.header(body)},
            timeout=TIMEOUT,
        )
    except requests.RequestException as error:
        log.warning("sandbox webhook to %s failed: %s", url, error)
        return None
    return answer.status_code
