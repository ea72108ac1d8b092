"""Fixtures for the admin pages.

- ``make_user``: a committed account (password ``PASSWORD`` unless given), optionally allowed on configs.
- ``browser``: a fresh in-process browser (its own cookie jar) for one person; ``sign_in`` signs it in
  through the real form (CSRF token included), as a person would.
- ``csrf_token(page)``: the token of a form on a page.
"""

import html
import re

import pytest
import webtest
from sqlalchemy import select

from polybanking.auth.passwords import hash_password
from polybanking.models import Config, User

PASSWORD = "correct horse battery staple"
_hashes: dict[str, str] = {}


def csrf_token(page) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


@pytest.fixture
def make_user(db, clean_db):
    def make(
        username, password=PASSWORD, superuser=False, staff=False, configs=(), active=True, external_id=None
    ):
        if password and password not in _hashes:  # argon2 is slow on purpose: hash each test password once
            _hashes[password] = hash_password(password)

        def create(session):
            user = User(
                username=username,
                password_hash=_hashes[password] if password else None,
                is_superuser=superuser,
                is_staff=staff,
                is_active=active,
                external_id=external_id,
            )
            session.add(user)
            for config_id in configs:
                config = session.get(Config, config_id)
                config.allowed_users.append(user)
            session.flush()
            return user.id

        return db.run(create)

    return make


@pytest.fixture
def browser(app, clean_db, live_server):
    host = live_server.url.split("://", 1)[1]

    def make(ip="127.0.0.1"):
        return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": ip, "HTTP_HOST": host})

    return make


def sign_in(client, username, password=PASSWORD, status=303):
    page = client.get("/admin/login")
    answer = client.post(
        "/admin/login",
        {"username": username, "password": password, "csrf_token": csrf_token(page)},
        status=status,
    )
    return answer


@pytest.fixture
def admin_as(browser, make_user):
    """A browser signed in as a new user: ``admin_as("alice", superuser=True)``."""

    def make(username, **fields):
        make_user(username, **fields)
        client = browser()
        sign_in(client, username)
        return client

    return make


def user_id(db, username) -> int:
    return db.run(lambda s: s.scalar(select(User.id).where(User.username == username)))


@pytest.fixture
def make_transaction(db, clean_db):
    """A committed transaction (as the gateway would have stored it), with a log entry or more."""
    from datetime import UTC, datetime

    from polybanking.models import Transaction, TransactionLog

    def make(config_id, reference, amount=550, status=None, created=None, logs=("created",), **fields):
        def create(session):
            transaction = Transaction(
                config_id=config_id,
                reference=reference,
                amount=amount,
                postfinance_status=status,
                creation_date=created or datetime.now(UTC),
                **fields,
            )
            session.add(transaction)
            for log_type in logs:
                session.add(TransactionLog(transaction=transaction, log_type=log_type, extra_data=""))
            session.flush()
            return transaction.id

        return db.run(create)

    return make
