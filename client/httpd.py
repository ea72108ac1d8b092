"""The example shop: a website taking payments through PolyBanking with ``polybanking_client``.

``python httpd.py`` serves http://127.0.0.1:5000 (HOST and PORT of the settings): a page to pay an
amount, the redirect through the gateway, a back page with the outcome, the last transactions
with the newest one's details and logs (read through the API), a refund button for the
shopper's own paid order (``/refund``: works when the gateway's admins allowed refunds through
the API for the shop's config), and ``/ipn``, which checks the IPNs the gateway posts and keeps
them for the back page.

Settings: ``config.py`` beside this file (copy ``config.py.dist``), or the file named by
``$POLYBANKING_SHOP_CONFIG``. The gateway's config for the shop points its IPN URL at ``/ipn``
and its back URLs at ``/back/ok`` and ``/back/err``.
"""

import hmac
import os
import runpy
import secrets
import sys
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, session
from polybanking_client import PolyBanking

HERE = Path(__file__).resolve().parent
SETTING_NAMES = ("POLYBANKING_SERVER", "CONFIG_ID", "KEY_REQUESTS", "KEY_IPN", "KEY_API")


def load_settings(path: str | None = None) -> dict:
    """The shop's settings module as a dict; exits with a sentence if it is missing or incomplete."""
    path = path or os.environ.get("POLYBANKING_SHOP_CONFIG") or str(HERE / "config.py")
    if not os.path.exists(path):
        sys.exit(f"{path} not found: copy config.py.dist to config.py and fill in the config's keys")
    values = runpy.run_path(path)
    missing = [name for name in SETTING_NAMES if not str(values.get(name, "")).strip()]
    if missing:
        sys.exit(f"{path}: set {', '.join(missing)}")
    return values


def cents(text: str) -> int | None:
    """Francs as typed by a person (``12.50``, ``12,5``) to cents; None unless a positive amount."""
    try:
        amount = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount * 100 != int(amount * 100):
        return None
    return int(amount * 100)


def create_app(settings: dict) -> Flask:
    api = PolyBanking(
        settings["POLYBANKING_SERVER"],
        settings["CONFIG_ID"],
        settings["KEY_REQUESTS"],
        settings["KEY_IPN"],
        settings["KEY_API"],
    )
    ipns: deque[dict] = deque(maxlen=50)
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    # The shopper's own orders are remembered in their (signed) session cookie.
    app.secret_key = settings.get("SECRET_KEY") or secrets.token_hex(32)

    def csrf_token() -> str:
        return session.setdefault("csrf", secrets.token_urlsafe(16))

    @app.get("/")
    def home():
        return render_template("home.html", ipns=list(ipns))

    @app.post("/pay")
    def pay():
        amount = cents(request.form.get("amount", ""))
        if amount is None:
            return render_template("home.html", ipns=list(ipns), error="Enter an amount in francs."), 400
        reference = f"shop-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"
        status, url = api.new_transaction(amount, reference, extra_data="example shop")
        if status != "OK":
            return render_template("home.html", ipns=list(ipns), error=f"The gateway said {status}."), 502
        session["orders"] = [*session.get("orders", [])[-19:], reference]
        return redirect(url, code=303)

    @app.get("/back/<any(ok, err):outcome>")
    def back(outcome: str):
        transactions = api.get_transactions(max_transaction=5)
        detail = logs = None
        if transactions:
            newest = transactions[0]["reference"]
            detail = api.get_transaction(newest)
            logs = api.get_transaction_logs(newest)
        own = bool(detail) and detail["reference"] in session.get("orders", [])
        refundable = (
            own
            and detail["postfinance_status"] == "9"
            and int(detail["refunded_amount"]) < int(detail["amount"])
        )
        return render_template(
            "back.html",
            outcome=outcome,
            transactions=transactions,
            detail=detail,
            logs=logs,
            ipns=list(ipns),
            refundable=refundable,
            csrf=csrf_token(),
        )

    @app.post("/refund")
    def refund():
        """Refund all that is left of the shopper's own order; the key makes a double click one refund."""
        reference = request.form.get("reference", "")
        expected = session.get("csrf", "")
        given = request.form.get("csrf", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            abort(403)
        if reference not in session.get("orders", []):
            abort(403)
        result = api.refund(
            reference, idempotency_key=f"shop-refund-{reference}", reason="asked by the shopper"
        )
        return render_template("refund.html", reference=reference, refund=result, ipns=list(ipns))

    @app.post("/ipn")
    def ipn():
        is_ok, message, reference, status, status_good, last_update = api.check_ipn(request.form)
        ipns.appendleft(
            {
                "valid": is_ok,
                "problem": message,
                "reference": reference or request.form.get("reference", ""),
                "status": status,
                "status_good": status_good,
                "last_update": last_update,
            }
        )
        return ("OK", 200) if is_ok else ("refused: " + message, 403)

    return app


if __name__ == "__main__":
    shop_settings = load_settings()
    create_app(shop_settings).run(
        host=shop_settings.get("HOST", "127.0.0.1"), port=int(shop_settings.get("PORT", 5000)), debug=False
    )
