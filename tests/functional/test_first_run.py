"""The first hour of a new user (issue 17): the gateway's address answers with where to go next, and
`polybanking demo` (`make run`) says what to do, then ends cleanly on Ctrl-C."""

import os
import signal
import subprocess

from ..browser import own_gateway, wait_until_up


def test_the_root_links_the_demo_the_sandbox_and_the_admin(testapp):
    page = testapp.get("/")
    assert page.status_int == 200 and page.content_type == "text/html"
    links = {a.get("href") for a in page.html.find_all("a")}
    assert {"/sandbox/shop/", "/sandbox/", "/admin/"} <= links
    text = page.html.get_text(" ", strip=True)
    assert "No admin user yet" in text
    assert "user create --username admin --superuser" in text and "at least 8 characters" in text


def test_the_root_stops_explaining_the_first_user_once_there_is_one(testapp, db):
    from polybanking.models import User

    db.run(lambda session: session.add(User(username="alice", password_hash=None)))
    text = testapp.get("/").html.get_text(" ", strip=True)
    assert "No admin user yet" not in text and "user create" not in text


def test_demo_says_what_to_do_and_ctrl_c_is_a_normal_end(tmp_path, base_settings):
    """As in a terminal: Ctrl-C reaches the whole process group at once (make, demo, web, worker)."""
    url, cli = own_gateway(tmp_path, base_settings)
    log = tmp_path / "demo.log"
    with open(log, "w") as output:
        demo = subprocess.Popen(
            [*cli, "demo"], stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_up(f"{url}/", demo, log=log)
            os.killpg(demo.pid, signal.SIGINT)
            assert demo.wait(timeout=30) == 0, log.read_text()
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    printed = log.read_text()
    assert f"Open {url}/ " in printed
    assert f"{url}/admin/" in printed and "user create --username admin --superuser" in printed


def test_summary_pdf_prints_no_font_subsetting_chatter(tmp_path, base_settings):
    _url, cli = own_gateway(tmp_path, base_settings)
    result = subprocess.run(
        [*cli, "summary", "--period", "this-year", "--pdf", str(tmp_path / "s.pdf")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "fontTools" not in result.stderr, result.stderr
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-")
