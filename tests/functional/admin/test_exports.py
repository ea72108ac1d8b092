"""The export page: the form, the file streamed as a download named after what it holds, in each
format; one config for its allowed users, all configs for superusers only (guessing another
config's id gets a 403, and the spec is built in SQL from the visible configs only); junk gets
the form again with a 400."""

import csv
import io
import json
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from polybanking.services.admin.queries import visible_config_ids
from polybanking.services.reports.exports import export
from polybanking.services.reports.period import custom_period

from ...report_data import PERIOD, TRANSACTIONS, add_report_data
from .conftest import user_id

DOWNLOAD = "/admin/exports/download"
WHOLE = {"period": "custom", "from": PERIOD[0], "to": PERIOD[1]}
#: The references of TRANSACTIONS created within PERIOD (Zurich days): b2 and b4 fall outside.
IN_PERIOD = {ref for _key, ref, *_ in TRANSACTIONS} - {"b2", "b4"}
SHOP = {ref for key, ref, *_ in TRANSACTIONS if key == "shop"}


@pytest.fixture
def data(db, clean_db):
    return db.run(add_report_data)


def csv_rows(answer) -> list[dict]:
    return list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))


def test_a_superuser_exports_all_configs_as_csv_through_the_form(admin_as, data):
    root = admin_as("root", superuser=True)
    form = root.get("/admin/exports/")
    options = [option.get_text(strip=True) for option in form.html.select("#f-config option")]
    assert options[0] == "All configs" and "Ticket shop (live)" in options and "Test shop (test)" in options
    assert form.html.select_one("#export-form")["action"] == DOWNLOAD

    answer = root.get(DOWNLOAD, {"config": "all", "format": "csv", **WHOLE})
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        answer.headers["Content-Disposition"] == 'attachment; filename="Export_ALL_2026-09-01_2026-11-30.csv"'
    )
    assert answer.headers["Cache-Control"] == "no-store"
    rows = csv_rows(answer)
    assert {row["reference"].lstrip("'") for row in rows} == IN_PERIOD
    assert {row["config_name"] for row in rows} == {"Ticket shop", "Bar", "Club fees", "Test shop"}


def test_each_format_of_one_config_with_only_good_payments(admin_as, data):
    root = admin_as("root", superuser=True)
    query = {"config": str(data["shop"]), "only_good": "on", **WHOLE}
    good = {"a1", "a2", "a3", "a4", "=a5"}  # status 9, and a5 authorised (5)

    answer = root.get(DOWNLOAD, {**query, "format": "csv"})
    assert {row["reference"].lstrip("'") for row in csv_rows(answer)} == good

    answer = root.get(DOWNLOAD, {**query, "format": "json"})
    assert answer.headers["Content-Disposition"].endswith(
        'filename="Export_Ticket-shop_2026-09-01_2026-11-30.json"'
    )
    document = json.loads(answer.body)
    assert {entry["reference"] for entry in document} == good
    assert all(entry["logs"] for entry in document)

    answer = root.get(DOWNLOAD, {**query, "format": "xml"})
    assert answer.headers["Content-Type"] == "application/xml"
    references = {element.text for element in ET.fromstring(answer.body).iter("reference")}
    assert references == good

    answer = root.get(DOWNLOAD, {**query, "format": "xlsx"})
    assert answer.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(answer.body), read_only=True).worksheets[0]
    header, *lines = list(sheet.values)
    column = header.index("reference")
    assert {line[column] for line in lines} == good


def test_a_member_exports_their_config_only_even_by_guessing_ids(admin_as, data, db):
    alice = admin_as("alice", configs=[data["shop"]])
    form = alice.get("/admin/exports/")
    options = [option["value"] for option in form.html.select("#f-config option")]
    assert options == [str(data["shop"])]  # no "all", no other config
    assert "Bar" not in form.text and "Club fees" not in form.text

    answer = alice.get(DOWNLOAD, {"config": str(data["shop"]), "format": "csv", **WHOLE})
    assert {row["reference"].lstrip("'") for row in csv_rows(answer)} == SHOP
    for config in (data["bar"], data["club"], data["test"], "all"):
        refused = alice.get(DOWNLOAD, {"config": str(config), "format": "csv", **WHOLE}, expect_errors=True)
        assert refused.status_int == 403, config
        assert b"Bar" not in refused.body and b"Club fees" not in refused.body
    # The config field decides: a second one cannot widen the first.
    twice = f"{DOWNLOAD}?config={data['shop']}&config=all&format=csv"
    twice += f"&period=custom&from={PERIOD[0]}&to={PERIOD[1]}"
    answer = alice.get(twice)
    assert "Export_Ticket-shop_" in answer.headers["Content-Disposition"]
    assert {row["reference"].lstrip("'") for row in csv_rows(answer)} == SHOP
    for junk in ("", "abc", "0", "99999999", "-1", "1e3", "99999999999999999999"):
        assert alice.get(DOWNLOAD, {"config": junk, "format": "csv"}, expect_errors=True).status_int == 404, (
            junk
        )

    # Below the ACL, the spec itself is built only from the configs alice may see (in SQL).
    def spec_for(config_id):
        def build(session):
            from polybanking.models import User

            visible = visible_config_ids(session.get(User, user_id(db, "alice")))
            period = custom_period(*PERIOD, ZoneInfo("Europe/Zurich"))
            return export.build_spec(session, "csv", period, config_id, visible=visible)

        return db.run(build)

    assert spec_for(data["shop"]).configs == {data["shop"]: "Ticket shop"}
    for config_id in (data["bar"], None):
        with pytest.raises(export.ExportError):
            spec_for(config_id)


def test_a_user_without_configs_has_nothing_to_export(admin_as):
    page = admin_as("nobody").get("/admin/exports/")
    assert "not allowed on any config" in page.text and page.html.select_one("#export-form") is None


JUNK = [
    ({"format": "pdf", "period": "this-month"}, "unknown format 'pdf'"),
    ({"format": "csv", "period": "last-decade"}, "Choose a period."),
    (
        {"format": "csv", "period": "custom", "from": "2026-11-30", "to": "2026-09-01"},
        "is after the end date",
    ),
    ({"format": "csv", "period": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "real YYYY-MM-DD date"),
    (
        {"format": "csv", "period": "custom", "from": "", "to": "2026-12-01"},
        "start date is missing: give it as YYYY-MM-DD",
    ),
    ({"format": "csv", "period": "custom", "from": "1800-01-01", "to": "2026-12-01"}, "between 2000-01-01"),
]


def test_junk_gets_the_form_again_with_a_400(admin_as, data):
    root = admin_as("root", superuser=True)
    for fields, message in JUNK:
        page = root.get(DOWNLOAD, {"config": "all", **fields}, status=400)
        assert message in page.html.select_one("#export-error").get_text(), fields
        assert page.html.select_one("#export-form") is not None
        assert page.headers["Content-Type"].startswith("text/html")
        if fields["period"] == "custom":  # what was typed is shown again, to be corrected
            assert page.html.select_one("#f-period option[selected]")["value"] == "custom"
            assert page.html.select_one("#f-from")["value"] == fields["from"]


def test_undecodable_query_strings_are_a_400(admin_as):
    root = admin_as("root", superuser=True)
    for path in (f"{DOWNLOAD}?config=%FF", f"{DOWNLOAD}?config=all&format=%FF", "/admin/exports/?period=%C0"):
        assert root.get(path, expect_errors=True).status_int == 400, path
