"""`polybanking --ini F check` on the shipped production.ini: every problem named, secrets never shown."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from pyramid.paster import get_appsettings

from polybanking import main
from polybanking.scripts.check import check_configuration
from polybanking.settings import SettingsError

from ..conftest import ROOT

PRODUCTION_INI = str(ROOT / "production.ini")
HEAD = ScriptDirectory(str(ROOT / "alembic")).get_current_head()
SECRET = "Sup3r-Secret-Passphrase"
#: What an operator puts in /etc/polybanking/polybanking.env (deploy/), with the suite's services.
COMPLETE = {
    "POLYBANKING_POLYBANKING_BASE_URL": "https://pay.example.org",
    "POLYBANKING_POSTFINANCE_TEST_PSPID": "TestPSPID",
    "POLYBANKING_POSTFINANCE_TEST_SHA_IN": SECRET + "-in",
    "POLYBANKING_POSTFINANCE_TEST_SHA_OUT": SECRET + "-out",
    "POLYBANKING_POSTFINANCE_PROD_PSPID": "LivePSPID",
    "POLYBANKING_POSTFINANCE_PROD_SHA_IN": SECRET + "-prod-in",
    "POLYBANKING_POSTFINANCE_PROD_SHA_OUT": SECRET + "-prod-out",
    "POLYBANKING_SESSION_SECRET": SECRET + "-session-0123456789abcdef",
}


def text(report) -> str:
    return "\n".join(report.problems + report.warnings)


def test_shipped_production_ini_without_environment_names_every_missing_key():
    report = check_configuration(PRODUCTION_INI, environ={}, offline=True)
    assert not report.ok
    for key in (
        "polybanking.base_url",
        "postfinance.test.pspid",
        "postfinance.test.sha_in",
        "postfinance.test.sha_out",
    ):
        [line] = [p for p in report.problems if p.startswith(key + ":")]
        assert "is required" in line and f"POLYBANKING_{key.upper().replace('.', '_')}" in line


def test_shipped_production_ini_with_its_environment_is_fine_offline():
    report = check_configuration(PRODUCTION_INI, environ=COMPLETE, offline=True)
    assert report.problems == []
    assert report.warnings == []


@pytest.mark.parametrize(
    ("variable", "value", "key", "words"),
    [
        ("POLYBANKING_SANDBOX_ENABLED", "true", "sandbox.enabled", "must be false in production"),
        (
            "POLYBANKING_IPN_ALLOW_PRIVATE_DESTINATIONS",
            "true",
            "ipn.allow_private_destinations",
            "must be false in production",
        ),
        ("POLYBANKING_IPN_ALLOW_PRIVATE_DESTINATIONS", "maybe", "ipn.allow_private_destinations", "'maybe'"),
        ("POLYBANKING_POLYBANKING_MAX_FORM", "2MB", "polybanking.max_form", "max_body"),
        ("POLYBANKING_POLYBANKING_BASE_URL", "http://pay.example.org", "polybanking.base_url", "https://"),
        ("POLYBANKING_POSTFINANCE_HASH", "md5", "postfinance.hash", "sha1, sha256, sha512"),
        ("POLYBANKING_POLYBANKING_MAX_BODY", "lots", "polybanking.max_body", "'lots'"),
        ("POLYBANKING_POLYBANKING_TRUSTED_PROXIES", "nginx", "polybanking.trusted_proxies", "'nginx'"),
        ("POLYBANKING_POLYBANKING_MONITORING_FROM", "x/y", "polybanking.monitoring_from", "'x/y'"),
        ("POLYBANKING_HUEY_BACKEND", "memory", "huey.backend", "use redis"),
        ("POLYBANKING_HUEY_BACKEND", "rabbit", "huey.backend", "'rabbit'"),
        ("POLYBANKING_HUEY_URL", "http://redis", "huey.url", "redis://"),
        ("POLYBANKING_POLYBANKING_ORDERID_PREFIX", "a-b", "polybanking.orderid_prefix", "letters, digits"),
        ("POLYBANKING_POSTFINANCE_PROD_URL", "nope", "postfinance.prod.url", "http(s) URL"),
        ("POLYBANKING_CHECKOUT_LIVE_SPACE_ID", "main", "checkout.live.space_id", "whole number"),
    ],
)
def test_one_bad_value_is_named_with_where_it_came_from(variable, value, key, words):
    report = check_configuration(PRODUCTION_INI, environ={**COMPLETE, variable: value}, offline=True)
    [line] = report.problems
    assert line.startswith(key + ":") and words in line
    assert f"from {variable}" in line


def test_a_checkout_key_that_is_not_base64_is_named_and_never_printed():
    environ = {
        **COMPLETE,
        "POLYBANKING_CHECKOUT_LIVE_SPACE_ID": "12345",
        "POLYBANKING_CHECKOUT_LIVE_USER_ID": "678",
        "POLYBANKING_CHECKOUT_LIVE_AUTHENTICATION_KEY": SECRET,
    }
    report = check_configuration(PRODUCTION_INI, environ=environ, offline=True)
    [line] = report.problems
    assert line.startswith("checkout.live.authentication_key:") and "base64" in line
    assert SECRET not in text(report)


def test_several_problems_are_all_listed():
    """Problems of every part (gateway, reconciliation, admin, IPN, door) in one run."""
    environ = {
        **COMPLETE,
        "POLYBANKING_POSTFINANCE_HASH": "md5",
        "POLYBANKING_POLYBANKING_MAX_BODY": "0",
        "POLYBANKING_IPN_TIMEOUT": "soon",
        "POLYBANKING_POLYBANKING_TIMEZONE": "Mars/Olympus",
        "POLYBANKING_SESSION_SECURE": "false",
        "POLYBANKING_RECONCILE_STALE_AFTER": "-3",
    }
    del environ["POLYBANKING_POSTFINANCE_TEST_SHA_OUT"]
    del environ["POLYBANKING_SESSION_SECRET"]
    report = check_configuration(PRODUCTION_INI, environ=environ, offline=True)
    keys = sorted(p.split(":")[0] for p in report.problems)
    assert keys == [
        "ipn.timeout",
        "polybanking.max_body",
        "polybanking.timezone",
        "postfinance.hash",
        "postfinance.test.sha_out",
        "reconcile.stale_after",
        "session.secret",
        "session.secure",
    ]


def test_secrets_are_never_printed():
    environ = {**COMPLETE, "POLYBANKING_SQLALCHEMY_URL": f"postgresql+psycopg://u:{SECRET}@host:port/x"}
    environ["POLYBANKING_POSTFINANCE_PROD_URL"] = "nope"
    report = check_configuration(PRODUCTION_INI, environ=environ, offline=True)
    assert any(p.startswith("sqlalchemy.url: not a database URL") for p in report.problems)
    assert SECRET not in text(report)


def test_secret_written_in_the_ini_is_a_warning(tmp_path):
    ini = tmp_path / "production.ini"
    content = Path(PRODUCTION_INI).read_text().replace("%(here)s", str(ROOT))
    ini.write_text(content.replace("[app:main]\n", f"[app:main]\npostfinance.test.sha_in = {SECRET}\n", 1))
    environ = dict(COMPLETE)
    del environ["POLYBANKING_POSTFINANCE_TEST_SHA_IN"]
    report = check_configuration(str(ini), environ=environ, offline=True)
    assert report.ok
    assert report.warnings == [
        f"postfinance.test.sha_in: a secret written in {ini}; prefer POLYBANKING_POSTFINANCE_TEST_SHA_IN"
    ]
    assert SECRET not in text(report)


def test_waitress_dropping_proxy_headers_is_a_problem(tmp_path):
    ini = tmp_path / "production.ini"
    content = Path(PRODUCTION_INI).read_text().replace("%(here)s", str(ROOT))
    ini.write_text(content.replace("clear_untrusted_proxy_headers = false\n", ""))
    report = check_configuration(str(ini), environ=COMPLETE, offline=True)
    [line] = report.problems
    assert line.startswith("[server:main] clear_untrusted_proxy_headers: must be false")
    # Without trusted proxies there is nothing for waitress to drop that the app would use.
    environ = {**COMPLETE, "POLYBANKING_POLYBANKING_TRUSTED_PROXIES": ""}
    report = check_configuration(str(ini), environ=environ, offline=True)
    assert report.problems == [] and report.warnings[0].startswith("polybanking.trusted_proxies: empty")


@pytest.mark.parametrize(
    ("value", "words"),
    [("fast", "'fast' is not a number of milliseconds"), ("0", "must be more than 0 and at most 100, not 0")],
)
def test_a_bad_switch_interval_is_a_problem(tmp_path, value, words):
    ini = tmp_path / "production.ini"
    content = Path(PRODUCTION_INI).read_text().replace("%(here)s", str(ROOT))
    ini.write_text(content.replace("threads = 8\n", f"threads = 8\nswitch_interval_ms = {value}\n"))
    report = check_configuration(str(ini), environ=COMPLETE, offline=True)
    assert report.problems == [f"[server:main] switch_interval_ms: {words}"]
    ini.write_text(content.replace("threads = 8\n", "threads = 8\nswitch_interval_ms = 2\n"))
    assert check_configuration(str(ini), environ=COMPLETE, offline=True).problems == []


def test_missing_file_and_missing_alembic(tmp_path):
    report = check_configuration(str(tmp_path / "nowhere.ini"), environ=COMPLETE)
    assert report.problems == [f"{tmp_path / 'nowhere.ini'}: no such file (use --ini or $POLYBANKING_INI)"]
    ini = tmp_path / "production.ini"
    ini.write_text(Path(PRODUCTION_INI).read_text())  # %(here)s is now tmp_path: no migrations there
    report = check_configuration(str(ini), environ=COMPLETE, offline=True)
    [line] = report.problems
    assert line.startswith("[alembic] script_location:") and "no migrations" in line


def test_online_check_reaches_the_suite_database_and_queue(base_settings, engine):
    """With the suite's database (migrated) and queue: reachable, schema at head."""
    environ = {**COMPLETE, "POLYBANKING_SQLALCHEMY_URL": base_settings["sqlalchemy.url"]}
    redis = os.environ.get("PB_TEST_REDIS_URL")
    if redis:
        environ["POLYBANKING_HUEY_URL"] = redis
    else:
        environ.update({"POLYBANKING_HUEY_BACKEND": "memory"})
    report = check_configuration(PRODUCTION_INI, environ=environ)
    if redis:
        assert report.problems == []
        assert report.facts == ["database reachable", f"schema at {HEAD}", "queue reachable"]
    else:  # memory is refused for production, but the connection checks still ran
        assert [p.split(":")[0] for p in report.problems] == ["huey.backend"]
        assert report.facts[:2] == ["database reachable", f"schema at {HEAD}"]


def test_online_check_asks_each_checkout_space_with_its_credentials(app, live_server, tmp_path):
    """Against the suite's Checkout sandbox: the test space answers, a wrong live key is named."""
    ini = tmp_path / "checkout.ini"
    ini.write_text(Path(PRODUCTION_INI).read_text().replace("%(here)s", str(ROOT)))
    api = f"{live_server.url}/sandbox/checkout/api/v2.0"
    settings = app.registry.pb_settings
    environ = {
        **COMPLETE,
        "POLYBANKING_SQLALCHEMY_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}",
        "POLYBANKING_HUEY_BACKEND": "memory",
        "POLYBANKING_CHECKOUT_TEST_SPACE_ID": str(settings.checkout_test.space_id),
        "POLYBANKING_CHECKOUT_TEST_USER_ID": str(settings.checkout_test.user_id),
        "POLYBANKING_CHECKOUT_TEST_AUTHENTICATION_KEY": settings.checkout_test.authentication_key,
        "POLYBANKING_CHECKOUT_TEST_API_URL": api,
        "POLYBANKING_CHECKOUT_LIVE_SPACE_ID": str(settings.checkout_live.space_id),
        "POLYBANKING_CHECKOUT_LIVE_USER_ID": str(settings.checkout_live.user_id),
        "POLYBANKING_CHECKOUT_LIVE_AUTHENTICATION_KEY": settings.checkout_test.authentication_key,
        "POLYBANKING_CHECKOUT_LIVE_API_URL": api,
    }
    report = check_configuration(str(ini), environ=environ)
    assert "Checkout test space reachable" in report.facts
    [live] = [p for p in report.problems if p.startswith("checkout.live.*")]
    assert "HTTP 401" in live and settings.checkout_test.authentication_key not in text(report)


def test_online_check_names_unreachable_services_and_empty_schema(tmp_path):
    environ = {
        **COMPLETE,
        "POLYBANKING_SQLALCHEMY_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}",
        "POLYBANKING_HUEY_URL": "redis://127.0.0.1:1/0?socket_connect_timeout=2",
    }
    report = check_configuration(PRODUCTION_INI, environ=environ)
    assert report.problems[0].startswith(f"database: schema is at empty, this version needs {HEAD}: run")
    assert report.problems[1].startswith("huey.url: cannot reach the queue:")
    unreachable = {**environ, "POLYBANKING_SQLALCHEMY_URL": f"sqlite:///{tmp_path}/no/such/dir.sqlite"}
    report = check_configuration(PRODUCTION_INI, environ=unreachable)
    assert report.problems[0].startswith("sqlalchemy.url: cannot connect to the database:")


def test_checking_creates_no_file(tmp_path, monkeypatch):
    """Not even a queue file for a refused huey setting (a stand-in once left one behind)."""
    monkeypatch.chdir(tmp_path)
    environ = {
        **COMPLETE,
        "POLYBANKING_HUEY_BACKEND": "sqlite",
        "POLYBANKING_SQLALCHEMY_URL": "postgresql://db/x",
    }
    report = check_configuration(PRODUCTION_INI, environ=environ, offline=True)
    assert [p.split(":")[0] for p in report.problems] == ["huey.filename"]
    assert list(tmp_path.iterdir()) == []


def test_command_exit_status_and_output(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLYBANKING_")}
    command = [sys.executable, "-m", "polybanking.scripts.cli", "--ini", PRODUCTION_INI, "check", "--offline"]
    good = subprocess.run(command, env={**environ, **COMPLETE}, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == f"{PRODUCTION_INI}: configuration OK"
    bad = subprocess.run(
        command,
        env={**environ, **COMPLETE, "POLYBANKING_SANDBOX_ENABLED": "yes"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert lines[0].startswith(f"{PRODUCTION_INI}: error: sandbox.enabled: must be false in production")
    assert lines[-1] == f"{PRODUCTION_INI}: 1 problem(s) found"
    assert "Traceback" not in bad.stderr and SECRET not in bad.stderr


# The shipped production.ini itself refuses the sandbox, and logs JSON lines ---------------------


def test_production_ini_refuses_to_start_with_the_sandbox(monkeypatch):
    for name, value in {**COMPLETE, "POLYBANKING_SANDBOX_ENABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        main({}, **get_appsettings(PRODUCTION_INI))
    assert caught.value.key == "sandbox.enabled"


def test_production_ini_logs_one_json_object_per_line():
    script = (
        f"import logging; from pyramid.paster import setup_logging; setup_logging({PRODUCTION_INI!r});"
        "log = logging.getLogger('polybanking.test'); log.info('said \"hi\"\\nsecond line')\n"
        "try:\n    1/0\nexcept ZeroDivisionError:\n    log.exception('boom')\n"
        "logging.getLogger('sqlalchemy').info('not shown: root is WARNING')"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    first, second = map(json.loads, lines)
    assert first["level"] == "INFO" and first["logger"] == "polybanking.test"
    assert first["message"] == 'said "hi"\nsecond line'
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exception"]
