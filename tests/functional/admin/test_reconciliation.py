"""The reconciliation pages: a superuser uploads PostFinance's report through the real form (CSRF
token, multipart), reads the stored run's result, downloads the differences, lists the runs; the
home page shows the latest run. Junk (no file, an empty or binary file, too large, a bad
environment) gets a clear 4xx and stores nothing; an unreadable report is stored and says why.
"""

import csv
import dataclasses
import io
from datetime import UTC, date, datetime

import pytest
import webtest
from sqlalchemy import func, select

from polybanking.models import ReconciliationRun
from polybanking.models.reconciliation_run import COMMAND, INBOX, UPLOAD
from polybanking.models.transaction import FEEDBACK, FORWARDED

from ...reports import FIXTURE, Line, csv_bytes, xml_bytes
from .conftest import csrf_token, user_id

UPLOAD_PAGE = "/admin/reconciliation/new"


def upload(client, data: bytes, name="report.csv", environment="test", status=303, **fields):
    """Post the upload form as a browser does: the page's token, the file, the environment."""
    token = csrf_token(client.get(UPLOAD_PAGE))
    form = {"csrf_token": token, "environment": environment, **fields}
    if data is not None:
        form["report"] = webtest.Upload(name, data, "text/csv")
    return client.post(UPLOAD_PAGE, form, status=status)


def run_count(db) -> int:
    return db.run(lambda session: session.scalar(select(func.count(ReconciliationRun.id))))


@pytest.fixture
def root(admin_as):
    return admin_as("root", superuser=True)


@pytest.fixture
def fixture_shop(make_config, make_transaction):
    """Transactions 1-5 as the shared fixture's orders (as in services/reconcile/test_comparison.py):
    one the same, three different (status, amount, status), one PostFinance never had;
    polybanking-6 is not in the database and webshop-77 is another system's order."""
    config = make_config(name="Fixture shop", test_mode=True)
    day = lambda d: datetime(2026, 3, d, 10, 0, tzinfo=UTC)  # noqa: E731
    rows = [
        (1, 2500, "9", "3100000101", 2),
        (2, 1250, "5", "3100000102", 2),
        (3, 9000, "2", "3100000103", 3),
        (4, 500050, "9", "3100000104", 4),
        (5, 4200, None, None, 5),
    ]
    for number, amount, status, payid, forwarded in rows:
        make_transaction(
            config.id,
            f"fixture-ref-{number}",
            amount=amount,
            status=status,
            id=number,
            postfinance_id=payid,
            internal_status=FEEDBACK if status else FORWARDED,
            last_userforwarded_date=day(forwarded),
        )
    return config


def test_the_shared_fixture_uploaded_gives_a_stored_run_and_its_result(root, fixture_shop, db):
    answer = upload(root, FIXTURE.read_bytes(), name="postfinance-report.csv")
    assert "/admin/reconciliation/" in answer.location
    page = answer.follow()
    assert page.status_int == 200

    run = db.run(lambda s: s.scalars(select(ReconciliationRun)).one())
    assert answer.location.endswith(f"/admin/reconciliation/{run.id}/")
    assert (run.source, run.actor, run.user_id, run.file_name, run.live) == (
        UPLOAD,
        "root",
        user_id(db, "root"),
        "postfinance-report.csv",
        False,
    )
    assert (run.same_count, run.different_count, run.only_report_count) == (1, 3, 1)
    assert (run.only_polybanking_count, run.unanswered_count, run.foreign_count, run.error) == (0, 1, 1, "")

    html = page.html
    summary = html.select_one("#summary").get_text(" ", strip=True)
    assert "differences" in summary and "CSV, UTF-8, 8 lines" in summary
    assert "02.03.2026 to 31.03.2026" in summary and "by root (upload)" in summary
    totals = {
        row["id"]: [cell.get_text(strip=True) for cell in row.select("th, td")]
        for row in html.select("#totals-table tbody tr")
    }
    assert totals == {
        "total-same": ["Same", "1", "CHF 25.00", "CHF 25.00"],
        "total-different": ["Different", "3", "CHF 5'112.00", "CHF 5'103.00"],
        "total-only_report": ["Only in the report", "1", "CHF 7.00", "–"],
        "total-only_polybanking": ["Only in PolyBanking", "0", "–", "CHF 0.00"],
        "total-unanswered": ["Forwarded, never answered", "1", "–", "CHF 42.00"],
        "total-foreign": ["Other systems' orders", "1", "CHF 30.00", "–"],
    }

    different = html.select("#section-different tbody tr")
    rows = {row.select("td")[0].get_text(strip=True): row.select("td") for row in different}
    assert set(rows) == {"polybanking-2", "polybanking-3", "polybanking-4"}
    amount = rows["polybanking-3"]
    assert amount[1].get_text(strip=True) == "5"  # the report's line
    assert "fixture-ref-3" in amount[2].get_text() and "Fixture shop" in amount[2].get_text()
    assert amount[2].a["href"] == "/admin/transactions/3/"
    assert amount[3].get_text(strip=True) == "amount"
    # Both values, the differing one marked on each side.
    assert [s.get_text() for s in amount[4].select("strong.diff")] == ["CHF 99.00"]
    assert [s.get_text() for s in amount[5].select("strong.diff")] == ["CHF 90.00"]
    status = rows["polybanking-2"]
    assert status[3].get_text(strip=True) == "status"
    assert [s.get_text() for s in status[4].select("strong.diff")] == ["9 · Payment requested"]
    assert [s.get_text() for s in status[5].select("strong.diff")] == ["5 · Authorised"]

    only_report = html.select_one("#section-only_report").get_text(" ", strip=True)
    assert "polybanking-6" in only_report and "PAYID 3100000106" in only_report
    assert html.select_one("#section-only_polybanking") is None
    never = html.select_one("#section-unanswered").get_text(" ", strip=True)
    assert "polybanking-5" in never and "fixture-ref-5" in never and "CHF 42.00" in never
    assert "left" in never and "Expected; no difference." in never
    assert "webshop-77" in html.select_one("#section-foreign").get_text()
    assert "There are differences." in html.select_one("#summary-text").get_text()
    assert html.select_one("#csv")["href"] == f"/admin/reconciliation/{run.id}/differences.csv"


def test_a_platforms_report_of_its_sandbox_payments_goes_through_the_same_page(
    root, make_config, db, platform
):
    """Whichever platform a config pays through, its back office's report (e-payment's report,
    Checkout's export) goes through the same form, categories and page: a payment both sides
    know alike is the same; one its back office cancelled without telling PolyBanking differs."""
    config = make_config(name="Shop", platform=platform.name)
    platform.pay(config, reference="paid", amount="2500")
    cancelled = platform.pay(config, reference="cancelled", amount="1200", outcome="authorise")
    platform.later(cancelled, "cancel", told=False)

    page = upload(root, platform.report(), name="report.csv").follow()
    run = db.run(lambda s: s.scalars(select(ReconciliationRun)).one())
    assert (run.same_count, run.different_count, run.only_report_count) == (1, 1, 0)
    assert (run.only_polybanking_count, run.unanswered_count, run.foreign_count, run.error) == (0, 0, 0, "")
    [row] = page.html.select("#section-different tbody tr")
    cells = row.select("td")
    assert cells[0].get_text(strip=True) == f"polybanking-{cancelled}"
    assert "cancelled" in cells[2].get_text() and "Shop" in cells[2].get_text()
    assert cells[3].get_text(strip=True) == "status"
    assert [s.get_text() for s in cells[4].select("strong.diff")] == ["6 · Authorised and cancelled"]
    assert [s.get_text() for s in cells[5].select("strong.diff")] == ["5 · Authorised"]
    assert "There are differences." in page.html.select_one("#summary-text").get_text()


def test_the_differences_download_as_csv(root, fixture_shop, db):
    page = upload(root, FIXTURE.read_bytes()).follow()
    download = root.get(page.html.select_one("#csv")["href"])
    assert download.content_type == "text/csv" and download.charset == "utf-8"
    run_id = db.run(lambda s: s.scalar(select(ReconciliationRun.id)))
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="reconciliation-{run_id}-differences.csv"'
    )
    assert download.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(download.body.decode("utf-8-sig"))))
    assert [(r["category"], r["order_id"], r["differs"]) for r in rows] == [
        ("different", "polybanking-2", "status"),
        ("different", "polybanking-3", "amount"),
        ("different", "polybanking-4", "status"),
        ("only in the report", "polybanking-6", ""),
        ("forwarded, never answered", "polybanking-5", ""),
        ("other systems' orders", "webshop-77", ""),
    ]
    amount = rows[1]
    assert (amount["report_amount_cents"], amount["polybanking_amount_cents"]) == ("9900", "9000")
    assert amount["reference"] == "fixture-ref-3"


def test_an_xml_report_of_the_live_environment_that_matches(root, make_config, make_transaction, db):
    live = make_config(name="Live shop", test_mode=False)
    ids = [
        make_transaction(
            live.id,
            f"live-{n}",
            amount=550,
            status="9",
            postfinance_id="3100000001",
            internal_status=FEEDBACK,
            last_userforwarded_date=datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
        for n in range(2)
    ]
    report = xml_bytes([Line(f"polybanking-{i}") for i in ids], encoding="iso-8859-1")
    page = upload(root, report, name="live.xml", environment="live").follow()
    assert "everything matches" in page.html.select_one("#summary").get_text()
    assert page.html.select_one("#csv") is None  # nothing to download
    run = db.run(lambda s: s.scalars(select(ReconciliationRun)).one())
    assert (run.live, run.file_format, run.encoding, run.same_count, run.same_cents) == (
        True,
        "xml",
        "ISO-8859-1",
        2,
        1100,
    )
    # The same report against the test configs: PolyBanking has none of it there.
    page = upload(root, report, name="live.xml", environment="test").follow()
    assert "Only in the report" in page.html.select_one("#section-only_report h2").get_text()


def test_an_unreadable_report_is_stored_and_says_why(root, db):
    broken = csv_bytes([Line("polybanking-1"), Line("polybanking-2", total="abc")])
    answer = upload(root, broken, name="broken.csv")
    page = answer.follow()
    assert page.status_int == 200
    problem = page.html.select_one("#run-error")
    assert problem["role"] == "alert"
    assert "could not be read, so nothing was compared" in problem.get_text()
    assert "line 3, column 13 (TOTAL): 'abc' is not an amount" in problem.get_text()
    assert page.html.select_one("#totals-table") is None and page.html.select_one("#csv") is None
    run = db.run(lambda s: s.scalars(select(ReconciliationRun)).one())
    assert "line 3" in run.error and run.source == UPLOAD
    # Text that is no report at all is unreadable too (no header), not a crash.
    page = upload(root, b"hello, this is a letter\r\nnot a report\r\n", name="letter.txt").follow()
    assert "could not be read" in page.html.select_one("#run-error").get_text()


JUNK = [
    (None, "", {"report": "polybanking-1;9;25,00"}, "Choose a file to upload"),  # a plain field
    (None, "", {}, "Choose a file to upload"),
    (b"", "empty.csv", {}, "The file “empty.csv” is empty."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", {}, "is not a text file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "report.xlsx", {}, "is not a text file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Length 3\x00>>", "report.pdf", {}, "is not a text file"),
    ("Id;REF\n".encode("utf-16"), "utf16.csv", {}, "is not a text file"),
    (FIXTURE.read_bytes(), "r.csv", {"environment": "prod"}, "Choose the environment"),
    (FIXTURE.read_bytes(), "r.csv", {"environment": ""}, "Choose the environment"),
]


def test_junk_is_refused_with_a_clear_400_and_nothing_stored(root, snapshot):
    """One signed-in browser for all of them (signing in is slow on purpose)."""
    before = snapshot()
    for data, name, fields, message in JUNK:
        page = upload(root, data, name=name, status=400, **fields)
        assert message in page.html.select_one("#upload-error").get_text(), (name, fields)
        assert page.html.select_one("form input[type=file]") is not None  # the form again, to try again
    assert snapshot() == before


def test_two_files_at_once_are_refused(root, snapshot):
    before = snapshot()
    token = csrf_token(root.get(UPLOAD_PAGE))
    page = root.post(
        UPLOAD_PAGE,
        {"csrf_token": token, "environment": "test"},
        upload_files=[("report", "a.csv", FIXTURE.read_bytes()), ("report", "b.csv", FIXTURE.read_bytes())],
        status=400,
    )
    assert "Upload one file at a time." in page.text
    assert snapshot() == before


@pytest.fixture
def small_limit(app, monkeypatch):
    """Uploads limited to 2 000 bytes (the setting is reconcile.upload_max_mb)."""
    settings = app.registry.pb_settings
    limited = dataclasses.replace(settings.reconcile, upload_max_bytes=2000)
    monkeypatch.setattr(app.registry, "pb_settings", dataclasses.replace(settings, reconcile=limited))


def test_oversized_uploads_are_refused_with_413(root, small_limit, snapshot):
    before = snapshot()
    # Over the limit, within the form's slack: the view measures the file.
    page = upload(root, b"x" * 2001, name="big.csv", status=413)
    assert "The file “big.csv” is too large (2001 bytes; at most 2000 bytes)." in page.text
    # An announced body far over it: refused before the form is read.
    page = upload(root, b"x;" * 100_000, name="huge.csv", status=413)
    assert "too large" in page.text and "reconcile.upload_max_mb" in page.text
    assert snapshot() == before
    # At the limit: read (and unreadable, as it is no report).
    assert upload(root, b"x" * 2000, name="fits.csv").status_int == 303


def test_the_file_name_is_kept_without_its_folders(root, db):
    upload(root, b"not a report\n", name="C:\\Users\\treasurer\\March\u00a0report\x07.csv")
    assert db.run(lambda s: s.scalar(select(ReconciliationRun.file_name))) == "March report.csv"


def _add_runs(db, count, **fields):
    def add(session):
        for number in range(count):
            values = {"file_name": f"report-{number:03d}.csv", "source": COMMAND, "actor": "cron"}
            session.add(ReconciliationRun(**(values | fields)))

    db.run(add)


def test_the_runs_are_listed_newest_first_fifty_a_page(root, db):
    assert "0 runs" in root.get("/admin/reconciliation/").html.select_one("#count").get_text()
    _add_runs(
        db, 51, same_count=4, different_count=1, first_date=date(2026, 3, 1), last_date=date(2026, 3, 31)
    )
    page = root.get("/admin/reconciliation/")
    rows = page.html.select("tbody tr")
    assert len(rows) == 50 and "51 runs, newest first" in page.html.select_one("#count").get_text()
    first = [cell.get_text(" ", strip=True) for cell in rows[0].select("td")]
    assert first[1:] == ["cron (command)", "report-050.csv", "test", "differences", "4", "1", "0", "0", "0"]
    second_page = root.get("/admin/reconciliation/?page=2").html.select("tbody tr")
    assert [row.select("td")[2].get_text() for row in second_page] == ["report-000.csv"]
    for junk in ("0", "000", "-1", "abc", "99999999999", "%C2%B2"):
        assert len(root.get(f"/admin/reconciliation/?page={junk}").html.select("tbody tr")) == 50, junk
    assert len(root.get("/admin/reconciliation/?page=9").html.select("tbody tr")) == 1  # the last page
    link = rows[0].a["href"]
    assert root.get(link).status_int == 200


def test_the_home_page_shows_the_latest_run_to_superusers(root, admin_as, make_config, db):
    assert "No report compared yet" in root.get("/admin/").text
    _add_runs(db, 1, same_count=7, first_date=date(2026, 3, 1), last_date=date(2026, 3, 1))
    latest = root.get("/admin/").html.select_one("#latest-run").get_text(" ", strip=True)
    assert "everything matches" in latest and "report-000.csv" in latest and "7 same" in latest
    _add_runs(db, 1, source=INBOX, actor="", error="line 2, column 4 (STATUS): 'x' is not a status")
    latest = root.get("/admin/").html.select_one("#latest-run").get_text(" ", strip=True)
    assert "not read" in latest and "line 2, column 4 (STATUS)" in latest and "inbox" in latest
    _add_runs(db, 1, same_count=3, different_count=2, foreign_count=1)
    latest = root.get("/admin/").html.select_one("#latest-run").get_text(" ", strip=True)
    assert "differences" in latest and "2 different" in latest and "1 other systems' orders" in latest

    config = make_config(name="Staff shop")
    for name, fields in (("staff", {"staff": True}), ("member", {"configs": [config.id]})):
        client = admin_as(name, **fields)
        home = client.get("/admin/")
        assert home.html.select_one("#latest-run") is None and "reconciliation" not in home.text.lower()
        for path in ("/admin/reconciliation/", UPLOAD_PAGE):
            assert client.get(path, expect_errors=True).status_int == 403, (name, path)


def test_a_non_superuser_cannot_upload(admin_as, make_config, snapshot):
    config = make_config(name="Member shop")
    client = admin_as("member", configs=[config.id], staff=True)
    token = csrf_token(client.get("/admin/"))
    before = snapshot()
    answer = client.post(
        UPLOAD_PAGE,
        {"csrf_token": token, "environment": "test", "report": webtest.Upload("r.csv", FIXTURE.read_bytes())},
        expect_errors=True,
    )
    assert answer.status_int == 403
    assert snapshot() == before


def test_unknown_or_junk_run_ids_are_404(root):
    for path in (
        "/admin/reconciliation/0/",
        "/admin/reconciliation/123456789/",
        "/admin/reconciliation/abc/",
        "/admin/reconciliation/-1/differences.csv",
        "/admin/reconciliation/99999999999999999999/differences.csv",
    ):
        assert root.get(path, expect_errors=True).status_int == 404, path


def test_forms_that_cannot_be_read_are_a_400(root, snapshot):
    """Broken multipart bodies (the token sent in the header, as a script might): 400, never a 500."""
    token = csrf_token(root.get(UPLOAD_PAGE))
    environment = '--XX\r\nContent-Disposition: form-data; name="environment"\r\n\r\ntest\r\n'
    report = '--XX\r\nContent-Disposition: form-data; name="report"; filename="a.csv"\r\n'
    before = snapshot()
    for content_type, body in (
        ("multipart/form-data", "no boundary"),
        (
            "multipart/form-data; boundary=XX",
            f"{environment}{report}Content-Type: text/csv; charset=utf-16\r\n\r\nId;REF\r\n--XX--\r\n",
        ),
    ):
        answer = root.post(
            UPLOAD_PAGE,
            body.encode(),
            headers={"Content-Type": content_type, "X-CSRF-Token": token},
            status=400,
        )
        # Refused at the door (polybanking/ingress.py) or by the upload form itself: a clear 400.
        assert "cannot be read" in answer.text or "The form could not be read." in answer.text
    assert snapshot() == before


def test_a_test_report_uploaded_as_live_hints_at_the_environment(root, fixture_shop, db):
    page = upload(root, FIXTURE.read_bytes(), environment="live").follow()
    hint = page.html.select_one("#environment-hint").get_text(" ", strip=True)
    assert "None of the report's orders was found among the live configs" in hint
    assert "Compare it again as test" in hint
    right = upload(root, FIXTURE.read_bytes()).follow()
    assert right.html.select_one("#environment-hint") is None
