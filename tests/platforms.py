"""Each payment platform as a test pays on it: through its own sandbox's real path, with real
signatures (e-payment's SHA-IN page, decision and SHA-OUT return; Checkout's SDK, hosted page,
signed webhooks and return). PROTOCOL §11: websites see no difference, so the tests of what
websites, administrators and exports see take the ``platform`` fixture (tests/conftest.py) and run
once per platform; what differs (the IPNs on the way, the brand) is said here, once.

- ``platform.pay(config, ...)``: a payment made in full (or ``outcome="authorise"``); its id.
- ``platform.pay_through(testapp, config, ...)``: the same walk by a given browser; returns the
  shop's redirect and the ``go`` answer.
- ``platform.shopper_pays(go_url)`` (or ``Epayment.shopper_pays``): a browser without JavaScript
  over real HTTP (``requests``); returns where the gateway finally sends the shopper.
- ``platform.later``, ``refunds_held``, ``status_held``: its back office and what it holds.
- ``platform.report()``: its back office's report of the test's payments (e-payment's
  ``report.csv``, Checkout's export), for the reconciliation.
"""

from urllib.parse import urljoin

import requests
from sqlalchemy import select

from polybanking.models import Transaction
from polybanking.platforms.checkout.states import STATES

from .checkout import pay_with_checkout
from .website import form_action, hidden_fields, path_of, start_params

#: A refund's (or capture's, cancellation's) word in each platform's own terms.
EPAYMENT_OUTCOMES = {"8": "done", "81": "pending", "83": "refused"}
CHECKOUT_OUTCOMES = {"SUCCESSFUL": "done", "PENDING": "pending", "FAILED": "refused"}


def pay_through_sandbox(testapp, config, outcome, reference="order-1", amount="550"):
    """E-payment: website start → shopper's go page → sandbox page → outcome → return; returns
    the shop's redirect and the go answer."""
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    assert answer.json["status"] == "OK"
    go = testapp.get(path_of(answer.json["url"]))
    sandbox_page = testapp.post(path_of(form_action(go.text)), hidden_fields(go.text))
    assert "Pay" in sandbox_page.text
    decided = testapp.post(
        path_of(form_action(sandbox_page.text)), {**hidden_fields(sandbox_page.text), "outcome": outcome}
    )
    assert decided.status_int == 303
    assert decided.location.startswith(testapp.app.registry.pb_settings.url("/paiements/return?"))
    back = testapp.get(path_of(decided.location))
    assert back.status_int == 303
    return back, go


def transaction_id(db, config, reference) -> int:
    return db.run(
        lambda s: s.scalar(
            select(Transaction.id).where(
                Transaction.config_id == config.id, Transaction.reference == reference
            )
        )
    )


def pay_id(db, tid) -> str:
    return db.run(lambda s: s.get(Transaction, tid).postfinance_id)


class _Platform:
    name = ""
    #: The statuses a payment's own IPNs carry, in order, per outcome (one per real change).
    ipns: dict[str, list[str]] = {}
    #: What the transaction records as its brand when paid with the default method.
    brand = ""
    #: Each outcome in the platform's own words.
    OUTCOME: dict[str, str] = {}

    def __init__(self, testapp, app, db):
        self.testapp, self.app, self.db = testapp, app, db

    def pay(self, config, reference="order-1", amount="1000", outcome="pay") -> int:
        self.pay_through(self.testapp, config, outcome, reference, amount)
        return transaction_id(self.db, config, reference)

    def pay_through(self, testapp, config, outcome="pay", reference="order-1", amount="550"):
        raise NotImplementedError

    @classmethod
    def _decide(cls, browser: requests.Session, go_url: str, outcome: str) -> requests.Response:
        """From the go link to the sandbox's answer to the shopper's choice (not followed)."""
        raise NotImplementedError

    @classmethod
    def shopper_pays(cls, go_url: str, outcome: str = "pay") -> str:
        """A browser without JavaScript over real HTTP: the go link, the sandbox's button for
        ``outcome``; returns where the gateway finally sends the shopper (the website's back URL)."""
        with requests.Session() as browser:
            decided = cls._decide(browser, go_url, outcome)
            assert decided.status_code == 303, decided.text
            back = browser.get(decided.headers["Location"], allow_redirects=False, timeout=10)
            assert back.status_code == 303
            return back.headers["Location"]


class Epayment(_Platform):
    """The e-payment sandbox: its hosted page, its back office (post-sale or not), its ledger."""

    name = "epayment"
    ipns = {"pay": ["9"], "authorise": ["5"]}
    #: Where it cannot be reached (nothing listens on port 9 of the loopback).
    unreachable = {"maintenance_url": "http://127.0.0.1:9/ncol/test/maintenancedirect.asp"}
    #: Why a refund that never reached it is refused.
    no_trace = "PostFinance shows no operation after PAYID"
    no_operation = no_trace
    brand = "VISA"
    OUTCOME = {"pay": "pay", "authorise": "authorise", "decline": "decline"}

    def pay_through(self, testapp, config, outcome="pay", reference="order-1", amount="550"):
        return pay_through_sandbox(testapp, config, self.OUTCOME[outcome], reference, amount)

    @classmethod
    def _decide(cls, browser, go_url, outcome):
        go = browser.get(go_url, timeout=10)  # the form that submits itself to the hosted page
        page = browser.post(form_action(go.text), data=hidden_fields(go.text), timeout=10)
        form = {**hidden_fields(page.text), "outcome": cls.OUTCOME[outcome]}
        return browser.post(
            urljoin(page.url, form_action(page.text)), data=form, timeout=10, allow_redirects=False
        )

    def later(self, tid, action, told=True):
        """``refund-done``, ``refund-refused``, ``cancel-done`` or ``cancel-refused`` of the
        pending operation, or ``cancel`` of an authorised payment."""
        form = {"pay_id": pay_id(self.db, tid), "action": action, **({"postsale": "1"} if told else {})}
        self.testapp.post("/sandbox/ncol/test/transactions", form)

    @property
    def ledger(self):
        return self.app.registry.sandbox_ledger

    def report(self) -> bytes:
        return self.testapp.get("/sandbox/ncol/test/report.csv").body

    def refunds_held(self, tid):
        payid = pay_id(self.db, tid)
        return [
            (e.line_amount, EPAYMENT_OUTCOMES[e.status])
            for e in self.ledger.entries("test")
            if e.pay_id == payid and e.status in EPAYMENT_OUTCOMES
        ]

    def status_held(self, tid):
        return self.ledger.latest("test", pay_id=pay_id(self.db, tid)).status


class Checkout(_Platform):
    """The Checkout sandbox: its hosted page, its back office (webhook sent or lost), its store."""

    name = "checkout"
    ipns = {"pay": ["51", "5", "91", "9"], "authorise": ["51", "5"]}
    unreachable = {"api_url": "http://127.0.0.1:9/api/v2.0"}
    no_trace = "Checkout has no refund with this reference"
    no_operation = "Checkout has no completion or void of this payment"
    brand = "TWINT"
    OUTCOME = {"pay": "fulfill", "authorise": "authorize", "decline": "decline"}
    ACTION = {
        "refund-done": "settle-successful",
        "refund-refused": "settle-failed",
        "cancel-done": "void",
        "cancel-refused": "void-failed",
        "cancel": "void",
    }

    def pay_through(self, testapp, config, outcome="pay", reference="order-1", amount="550"):
        back, go, _checkout_id = pay_with_checkout(
            testapp, config, self.OUTCOME[outcome], method=self.brand, reference=reference, amount=amount
        )
        return back, go

    @classmethod
    def _decide(cls, browser, go_url, outcome):
        page = browser.get(go_url, timeout=10)  # go redirects to the hosted page, a form to itself
        form = {"method": cls.brand, "outcome": cls.OUTCOME[outcome]}
        return browser.post(page.url, data=form, timeout=10, allow_redirects=False)

    @property
    def store(self):
        return self.app.registry.checkout_sandbox_store

    def report(self) -> bytes:
        return self.testapp.get("/sandbox/checkout/export.csv").body

    def held(self, tid):
        return self.store.find(int(pay_id(self.db, tid)))

    def later(self, tid, action, told=True):
        form = {
            "id": pay_id(self.db, tid),
            "operation": self.ACTION[action],
            **({} if told else {"lose": "1"}),
        }
        self.testapp.post("/sandbox/checkout/transactions", form)

    def refunds_held(self, tid):
        return [(int(r["amount"] * 100), CHECKOUT_OUTCOMES[r["state"]]) for r in self.held(tid).refunds]

    def status_held(self, tid):
        return STATES[self.held(tid).state].status


#: Each platform by its config's ``platform`` name, in the order the tests run them.
PLATFORMS = {platform.name: platform for platform in (Epayment, Checkout)}
