"""SHA-IN / SHA-OUT signatures of PostFinance e-payment (PROTOCOL §4)."""

import hashlib
import hmac
from collections.abc import Iterable, Mapping

ALGORITHMS = ("sha1", "sha256", "sha512")

#: Parameters PostFinance includes in the SHA-OUT signature; anything else received is ignored.
DEFAULT_SHA_OUT_KEYS = frozenset(
    """
    AAVADDRESS AAVCHECK AAVMAIL AAVNAME AAVPHONE AAVZIP ACCEPTANCE ALIAS AMOUNT BIC BIN BRAND
    CARDNO CCCTY CN COLLECTOR_BIC COLLECTOR_IBAN COMPLUS CREATION_STATUS CREDITDEBIT CURRENCY
    CVCCHECK DCC_COMMPERCENTAGE DCC_CONVAMOUNT DCC_CONVCCY DCC_EXCHRATE DCC_EXCHRATESOURCE
    DCC_EXCHRATETS DCC_INDICATOR DCC_MARGINPERCENTAGE DCC_VALIDHOURS DEVICEID DIGESTCARDNO ECI ED
    EMAIL ENCCARDNO FXAMOUNT FXCURRENCY IP IPCTY MANDATEID MOBILEMODE NBREMAILUSAGE NBRIPUSAGE
    NBRIPUSAGE_ALLTX NBRUSAGE NCERROR ORDERID PAYID PAYIDSUB PAYMENT_REFERENCE PM SCO_CATEGORY
    SCORING SEQUENCETYPE SIGNDATE STATUS SUBBRAND SUBSCRIPTION_ID TICKET TRXDATE VC
    """.split()
)


def compute_sha(
    params: Mapping[str, str],
    passphrase: str,
    algorithm: str = "sha512",
    allowed: Iterable[str] | None = None,
) -> str:
    """Upper-case hex digest over ``NAME=value<passphrase>`` for each non-empty parameter.

    Names are upper-cased and sorted; ``allowed`` (upper-case names) restricts which ones count,
    as SHA-OUT does. ``SHASIGN`` itself never counts.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported hash algorithm {algorithm!r}")
    allowed_set = frozenset(allowed) if allowed is not None else None
    upper = {}
    for name, value in params.items():
        key = name.upper()
        if key == "SHASIGN" or value is None or value == "":
            continue
        if allowed_set is not None and key not in allowed_set:
            continue
        upper[key] = value
    text = "".join(f"{key}={upper[key]}{passphrase}" for key in sorted(upper))
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest().upper()


def check_sha(
    params: Mapping[str, str],
    signature: str | None,
    passphrase: str,
    algorithm: str = "sha512",
    allowed: Iterable[str] | None = None,
) -> bool:
    """Constant-time check of a received SHASIGN (hex digits, either case)."""
    expected = compute_sha(params, passphrase, algorithm, allowed).encode("ascii")
    given = (signature or "").strip()
    if not given.isascii():
        # str.upper() maps some non-ASCII letters onto hex digits ('\ufb00'.upper() == 'FF').
        return False
    return hmac.compare_digest(expected, given.upper().encode("ascii"))
