"""deploy/ stays in step with the code: the variables, commands, limits and headers it relies on exist."""

import configparser
import re
import shlex

from polybanking.ingress import Ingress
from polybanking.scripts.cli import _parser
from polybanking.settings import KNOWN_KEYS, env_name

from ..conftest import ROOT

DEPLOY = ROOT / "deploy"


def production_ini() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "production.ini")
    return parser


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_environment_example_names_only_real_settings():
    known = {env_name(key) for key in KNOWN_KEYS} | {env_name(key) for key in production_ini()["app:main"]}
    names = re.findall(
        r"^#?\s*(POLYBANKING_[A-Z0-9_]+)=", (DEPLOY / "polybanking.env.example").read_text(), re.M
    )
    assert len(names) >= 10
    assert set(names) <= known, set(names) - known


def test_units_run_commands_that_exist():
    commands = set(_parser()._subparsers._group_actions[0].choices)  # the polybanking subcommands
    web = unit("polybanking-web@.service")["Service"]
    start = shlex.split(web["ExecStart"])
    assert (
        start[0].endswith("/pserve") and start[1].endswith("/production.ini") and start[2] == "http_port=%i"
    )
    check = shlex.split(web["ExecStartPre"])
    assert check[0].endswith("/polybanking") and check[-1] in commands and check[-1] == "check"
    worker = shlex.split(unit("polybanking-worker@.service")["Service"]["ExecStart"])
    assert worker[3] == "worker" and "worker" in commands
    for name in ("polybanking-web@.service", "polybanking-worker@.service"):
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/polybanking/polybanking.env"
        assert service["User"] == "polybanking"
        assert unit(name)["Install"]["WantedBy"] == "polybanking.target"


def test_nginx_site_matches_the_gateway_settings():
    site = (DEPLOY / "nginx" / "polybanking.conf").read_text()
    app = production_ini()["app:main"]
    server = production_ini()["server:main"]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site  # replaced, never appended to
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "127.0.0.1" in app["polybanking.trusted_proxies"].split()
    assert server["clear_untrusted_proxy_headers"] == "false"
    door = Ingress.from_settings(dict(app))
    unit = {"k": 1024, "m": 1024**2}
    sizes = {
        location.strip() or "server": int(size) * unit[suffix]
        for location, size, suffix in re.findall(
            r"(?:location ([^{]*)\{\s*(?:#[^\n]*\n\s*)*)?client_max_body_size (\d+)([km]);", site
        )
    }
    # nginx refuses what the gateway would, route by route: small forms everywhere by default…
    assert sizes["server"] == door.max_form == door.limit_for("/admin/login")
    for location in ("/paiements/", "/api/"):
        assert sizes[location] == door.max_body == door.limit_for(location + "x")
    # …and only the upload route lets the reports through.
    upload = "= /admin/reconciliation/new"
    assert door.max_upload <= sizes[upload] < door.max_upload + 2 * 1024**2
    assert door.limit_for(upload[2:]) == door.max_upload
    assert set(sizes) == {"server", "/paiements/", "/api/", upload}
    assert int(server["max_request_body_size"]) == door.max_upload
    for path in ("/healthz", "/metrics"):
        assert re.search(rf"location = {path} {{\s*return 404;", site)
    assert "non_idempotent" not in site  # a POST is never replayed on another web process
