"""``polybanking export`` and ``polybanking summary``: the treasurer's files from the command line.

An operator's tool with full access (every config); the admin pages check who may see what.
Files are written next to their destination and renamed into place when complete, so a failed
run never leaves half a file under the expected name.
"""

import os
import sys
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from ..models import get_engine
from ..services.reports.exports import export as export_service
from ..services.reports.money import chf_display
from ..services.reports.period import Period, PeriodError, resolve
from ..services.reports.summary.as_csv import summary_csv, summary_filename
from ..services.reports.summary.summary import build_summary
from .commands import CommandError, database_errors, find_config, read_settings
from .progress import ProgressBar

STDOUT = "-"


def _period(tz, name: str | None, start: str | None, end: str | None) -> Period:
    try:
        return resolve(tz, name, start, end)
    except PeriodError as error:
        raise CommandError(str(error)) from None


def _destination(output: str | None, default_name: str) -> Path:
    """``-o FILE`` as given; a directory (or nothing: the current one) gets the default name."""
    path = Path(output) if output else Path.cwd()
    return path / default_name if path.is_dir() else path


@contextmanager
def _writing(path: Path):
    """A binary file that becomes ``path`` only once completely written."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise CommandError(f"cannot write in {str(folder)!r}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _write(output: Path | str, chunks: Iterable[bytes]) -> None:
    if output == STDOUT:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    assert isinstance(output, Path)
    try:
        with _writing(output) as file:
            for chunk in chunks:
                file.write(chunk)
    except OSError as error:
        raise CommandError(f"cannot write {str(output)!r}: {error.strerror}") from None


def export(
    ini: str,
    *,
    format: str,
    config_id: int | str | None,
    only_good: bool = False,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    output: str | None = None,
) -> tuple[str, int]:
    """Write the export; returns where (``-`` for standard output) and how many transactions."""
    raw, settings = read_settings(ini)
    chosen = _period(settings.tz, period, start, end)
    with database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            with Session(engine) as dbsession:  # closed before the export reads (SQLite's lock)
                if config_id is not None:  # a number or an exact name, as every command accepts
                    config_id = find_config(dbsession, str(config_id)).id
                spec = export_service.build_spec(dbsession, format, chosen, config_id, only_good)
            total = export_service.count(engine, spec)
            target = STDOUT if output == STDOUT else _destination(output, export_service.filename(spec))
            bar = ProgressBar(total, "transactions")
            _write(target, export_service.stream(engine, spec, bar.update))
            bar.finish()
        except export_service.ExportError as error:
            raise CommandError(str(error)) from None
        finally:
            engine.dispose()
    return str(target), total


def summary(
    ini: str,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    include_test: bool = False,
    transactions: str = "none",
    pdf: str | None = None,
    csv: str | None = None,
) -> list[str]:
    """Write the summary as PDF and/or CSV; returns the paths written."""
    if not pdf and not csv:
        raise CommandError("give --pdf FILE and/or --csv FILE")
    if pdf == csv == STDOUT:
        raise CommandError("only one of --pdf and --csv can go to standard output")
    raw, settings = read_settings(ini)
    chosen = _period(settings.tz, period, start, end)
    with database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            bar = ProgressBar(len(chosen.months()), "months")
            with Session(engine) as dbsession:
                result = build_summary(dbsession, chosen, include_test, transactions, progress=bar.update)
            bar.finish()
        except PeriodError as error:
            raise CommandError(str(error)) from None
        finally:
            engine.dispose()
    if result.test_left_out:  # on standard error: `--csv -` keeps standard output for the CSV
        print(
            f"note: test configs are left out; CHF {chf_display(result.test_left_out)} was paid in them "
            "in this period (--include-test counts them)",
            file=sys.stderr,
        )
    from ..services.reports.summary.as_pdf import render_pdf  # fpdf2 loads only for the command that needs it

    written = []
    for option, extension, render in (
        (pdf, "pdf", lambda: [render_pdf(result)]),
        (csv, "csv", lambda: (line.encode() for line in summary_csv(result))),
    ):
        if option:
            target = STDOUT if option == STDOUT else _destination(option, summary_filename(result, extension))
            _write(target, render())
            written.append(str(target))
    return written
