"""PostFinance DirectLink status query (PROTOCOL §9): the request, the client, reading the answer.

The answer is not signed: it is trusted because we asked, over HTTPS, with the account's API user.
So the client sends the password only to the configured ``query_url`` and never logs it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

import requests

from . import feedback as pf

MAX_ANSWER = 64 * 1024
#: PostFinance's NCERROR for an order it does not know (the shopper never reached its page).
UNKNOWN_ORDER = "50001130"

#: The answer's attributes, in PostFinance's spelling.
ANSWER_FIELDS = (
    "orderID",
    "PAYID",
    "PAYIDSUB",
    "NCSTATUS",
    "NCERROR",
    "NCERRORPLUS",
    "ACCEPTANCE",
    "STATUS",
    "amount",
    "currency",
    "PM",
    "BRAND",
    "CARDNO",
)


class DirectLinkError(Exception):
    """No usable answer (network, HTTP status, not the XML of §9); the message is safe to log."""


@dataclass(frozen=True)
class Answer:
    """What PostFinance says about one order; ``status`` is "" when it has nothing to say."""

    values: dict[str, str]

    @property
    def order_id(self) -> str:
        return self.values.get("ORDERID", "")

    @property
    def status(self) -> str:
        return self.values.get("STATUS", "")

    @property
    def nc_error(self) -> str:
        return self.values.get("NCERROR", "")

    @property
    def nc_error_plus(self) -> str:
        return self.values.get("NCERRORPLUS", "")[:200]

    def as_feedback(self) -> pf.Feedback:
        """The answer as a feedback report (same checks, same application); FeedbackError on junk."""
        params = {
            name: self.values[name]
            for name in ("ORDERID", "PAYID", "PAYIDSUB", "STATUS")
            if name in self.values
        }
        params.update(
            {
                "AMOUNT": self.values.get("AMOUNT", ""),
                "CURRENCY": self.values.get("CURRENCY", ""),
                "BRAND": self.values.get("BRAND", ""),
                "CARDNO": self.values.get("CARDNO", ""),
                "NCERROR": self.nc_error,
            }
        )
        return pf.parse(params)


def query_fields(pspid: str, userid: str, password: str, order_id: str) -> dict[str, str]:
    return {"PSPID": pspid, "USERID": userid, "PSWD": password, "ORDERID": order_id}


def parse_answer(body: bytes) -> Answer:
    """``<ncresponse .../>`` → Answer (names upper-cased); DirectLinkError on anything else."""
    if len(body) > MAX_ANSWER:
        raise DirectLinkError("the answer is too long")
    parser = expat.ParserCreate()
    found: list[dict[str, str]] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if not found and tag.lower() == "ncresponse":
            found.append(pf.normalise(attributes.items()))

    def no_dtd(*_args) -> None:
        raise DirectLinkError("the answer has a DOCTYPE")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise DirectLinkError(f"the answer is not XML ({expat.ErrorString(error.code)})") from None
    if not found:
        raise DirectLinkError("the answer has no <ncresponse>")
    return Answer(found[0])


Poster = Callable[..., requests.Response]


def query(url: str, fields: Mapping[str, str], timeout: float = 20.0, post: Poster = requests.post) -> Answer:
    """Ask PostFinance; DirectLinkError when no answer can be read (its text never holds PSWD)."""
    try:
        answer = post(url, data=dict(fields), timeout=timeout, allow_redirects=False)
    except requests.RequestException as error:
        raise DirectLinkError(f"{type(error).__name__} while asking {url}") from None
    if answer.status_code != 200:
        raise DirectLinkError(f"HTTP {answer.status_code} from {url}")
    return parse_answer(answer.content)


def answer_xml(values: Mapping[str, str]) -> bytes:
    """An answer as PostFinance writes it (the sandbox's side)."""
    attributes = " ".join(f"{name}={quoteattr(values.get(name, ''))}" for name in ANSWER_FIELDS)
    return f'<?xml version="1.0"?><ncresponse {attributes}></ncresponse>'.encode()
