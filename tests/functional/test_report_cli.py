"""``polybanking export`` and ``polybanking summary``, run for real against a temporary database.

Runs share one database (filled once) and start side by side: each costs an interpreter start-up.
"""

import csv
import io
import json
import os
import pty
import subprocess

import openpyxl
import pytest
from sqlalchemy.orm import Session

from polybanking.models import get_engine

from ..report_data import EXPECTED_TOTAL, PERIOD, add_report_data
from .test_cli import COMMAND, finish, run, start, write_ini

CUSTOM = ["--from", PERIOD[0], "--to", PERIOD[1]]


@pytest.fixture(scope="module")
def ini(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    ini = write_ini(folder)
    result = run("initdb", ini=ini)
    assert result.returncode == 0, result.stderr
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{folder / 'cli.sqlite'}"})
    with Session(engine) as session, session.begin():
        ids = add_report_data(session)
    engine.dispose()
    return ini, folder, ids


@pytest.fixture(scope="module")
def runs(ini):
    """The successful runs, side by side; each writes into its own folder."""
    ini, folder, ids = ini
    cases = {
        "csv-default-name": ["export", "--format", "csv", "--all", *CUSTOM],
        "csv-one-config": ["export", "--format", "csv", "--config", "Ticket shop", "--only-good", *CUSTOM,
                           "-o", "shop.csv"],
        "json-stdout": ["export", "--format", "json", "--all", *CUSTOM, "-o", "-"],
        "xlsx-folder": ["export", "--format", "xlsx", "--all", *CUSTOM, "-o", "out"],
        "summary": ["summary", *CUSTOM, "--transactions", "grouped", "--pdf", "report.pdf", "--csv", "out"],
        "summary-named": ["summary", "--period", "since-a-year", "--csv", "-"],
    }  # fmt: skip
    places = {}
    processes = {}
    for case, args in cases.items():
        place = folder / case
        (place / "out").mkdir(parents=True)
        places[case] = place
        processes[case] = start(*args, ini=ini, cwd=place)
    return {case: (finish(process), places[case]) for case, process in processes.items()}


def ok(result) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_export_to_the_default_name(runs):
    result, place = runs["csv-default-name"]
    ok(result)
    target = place / "Export_ALL_2026-09-01_2026-11-30.csv"
    assert result.stdout == f"11 transactions written to {target}\n"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 11 and list(rows[0])[:2] == ["config", "config_name"]
    assert [path.name for path in place.iterdir() if path.name.startswith(".")] == []  # no leftovers


def test_export_of_one_config_good_only(runs):
    result, place = runs["csv-one-config"]
    ok(result)
    rows = list(csv.DictReader(io.StringIO((place / "shop.csv").read_text())))
    assert "config" not in rows[0]
    assert {row["postfinance_status"] for row in rows} == {"5", "9"} and len(rows) == 5


def test_export_to_standard_output(runs):
    result, _place = runs["json-stdout"]
    ok(result)
    items = json.loads(result.stdout)
    assert len(items) == 11 and all("logs" in item for item in items)


def test_export_into_a_folder(runs):
    result, place = runs["xlsx-folder"]
    ok(result)
    book = openpyxl.load_workbook(place / "out" / "Export_ALL_2026-09-01_2026-11-30.xlsx")
    assert book["Transactions"].max_row == 12


def test_summary_files(runs):
    result, place = runs["summary"]
    ok(result)
    assert result.stdout.splitlines() == [
        "summary written to report.pdf",
        "summary written to out/Summary_2026-09-01_2026-11-30.csv",  # as the operator named it
    ]
    assert (place / "report.pdf").read_bytes().startswith(b"%PDF-")
    # Left out by default, but said (a demo where every config is in test mode would show zeros).
    assert "test configs are left out; CHF 999.99 was paid in them" in result.stderr
    rows = list(csv.reader(io.StringIO((place / "out" / "Summary_2026-09-01_2026-11-30.csv").read_text())))
    assert ["", "", "(total)", "13.33", "223.45", "41.50", f"{EXPECTED_TOTAL / 100:.2f}"] in rows


def test_summary_of_a_named_period_to_standard_output(runs):
    result, _place = runs["summary-named"]
    ok(result)
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[:3] == ["group", "config", "config_name"] and header[-1] == "total"
    assert len(header) == 3 + 13 + 1  # a year back and this month: 13 months


# One case per kind of check (the period and argument rules have their unit tests): each is a process.
ERRORS = {
    "unknown format": (["export", "--format", "pdf", "--all"], "invalid choice"),
    "config and all": (["export", "--format", "csv", "--all", "--config", "1"], "not allowed with"),
    "unknown config": (["export", "--format", "csv", "--config", "424242"], "no config numbered or named"),
    "reversed dates": (["export", "--format", "csv", "--all", "--from", "2026-03-01", "--to", "2026-02-01"],
                       "after the end date"),
    "unwritable": (["export", "--format", "csv", "--all", "-o", "/nonexistent/folder/x.csv"], "cannot write"),
    "no summary file": (["summary", "--period", "this-year"], "--pdf FILE and/or --csv FILE"),
    "too long a summary": (["summary", "--from", "2000-01-01", "--to", "2026-01-01", "--csv", "x.csv"],
                           "at most 120 months"),
}  # fmt: skip


@pytest.fixture(scope="module")
def error_runs(ini):
    ini, folder, _ids = ini
    place = folder / "errors"
    place.mkdir()
    processes = {case: start(*args, ini=ini, cwd=place) for case, (args, _word) in ERRORS.items()}
    return {case: finish(process) for case, process in processes.items()}, place


@pytest.mark.parametrize("case", list(ERRORS))
def test_a_bad_argument_is_one_line_and_a_failure(error_runs, case):
    results, place = error_runs
    result = results[case]
    assert result.returncode == 2, result
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("polybanking")
    assert ERRORS[case][1] in lines[0]
    assert list(place.iterdir()) == []  # nothing written, not even half a file


def test_progress_bar_on_a_terminal(ini, tmp_path):
    """On a terminal, the export draws its bar on stderr and ends the line before its message."""
    ini, _folder, _ids = ini
    args = ["--ini", str(ini), "export", "--format", "csv", "--all", *CUSTOM, "-o", str(tmp_path / "x.csv")]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLYBANKING_")}
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=secondary, text=True, env=environ
        )
        os.close(secondary)
        stdout, _ = process.communicate(timeout=60)
        screen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(primary)
    assert process.returncode == 0
    assert stdout.startswith("11 transactions written to")
    text = screen.decode()
    assert "[" + "#" * 30 + "] 100%" in text and "11/11 transactions" in text
    assert text.endswith("\n")
