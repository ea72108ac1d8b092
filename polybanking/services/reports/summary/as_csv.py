"""The summary as CSV: one line per config, a total line per group and one for all (followed by
refunded and net lines when something was refunded), CHF as ``1234.50`` (exact: formatted from
integer cents). When the summary lists the paid transactions,
they follow after an empty line, under their own header."""

import csv
import io
from collections.abc import Iterator

from ..exports.writers import neutralise
from ..money import chf
from .summary import Summary

GROUP_TOTAL = "(group total)"
OVERALL_TOTAL = "(total)"
#: Only when something was refunded: what was, and paid less refunded.
GROUP_REFUNDED, GROUP_NET, REFUNDED, NET = "(group refunded)", "(group net)", "(refunded)", "(net)"


def _minus(paid: tuple[int, ...], refunded: tuple[int, ...]) -> list[int]:
    return [a - b for a, b in zip(paid, refunded, strict=True)]


def summary_csv(summary: Summary) -> Iterator[str]:
    """The CSV text, line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(*cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    months = [month.label for month in summary.months]
    yield line("group", "config", "config_name", *months, "total")
    for group in summary.groups:
        name = neutralise(group.name)
        for config in group.configs:
            yield line(
                name, config.config_id, neutralise(config.name), *map(chf, config.months), chf(config.total)
            )
        yield line(name, "", GROUP_TOTAL, *map(chf, group.months), chf(group.total))
        if group.refunded_total:
            yield line(name, "", GROUP_REFUNDED, *map(chf, group.refunded), chf(group.refunded_total))
            yield line(name, "", GROUP_NET, *map(chf, _minus(group.months, group.refunded)), chf(group.net))
    yield line("", "", OVERALL_TOTAL, *map(chf, summary.month_totals), chf(summary.total))
    if summary.refunded:
        yield line("", "", REFUNDED, *map(chf, summary.month_refunded), chf(summary.refunded))
        yield line(
            "", "", NET, *map(chf, _minus(summary.month_totals, summary.month_refunded)), chf(summary.net)
        )

    if summary.transactions:
        yield "\r\n"
        yield line("list", "group", "config", "config_name", "reference", "created", "amount_chf")
        for title, entries in summary.transactions.items():
            for entry in entries:
                yield line(
                    neutralise(title),
                    neutralise(entry.group),
                    entry.config_id,
                    neutralise(entry.config_name),
                    neutralise(entry.reference),
                    entry.created.isoformat(" ", "seconds"),
                    chf(entry.amount),
                )


def summary_filename(summary: Summary, extension: str) -> str:
    """``Summary_<start>_<end>.<ext>``, like the export's names."""
    return f"Summary_{summary.period.start.isoformat()}_{summary.period.end.isoformat()}.{extension}"
