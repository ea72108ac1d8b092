"""The progress bar of long commands: drawn on a terminal, silent elsewhere."""

import io

from polybanking.scripts.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_on_a_terminal():
    screen = Terminal()
    bar = ProgressBar(200, "transactions", stream=screen, interval=0)
    bar.update(50)
    bar.update(200)
    bar.finish()
    frames = screen.getvalue().split("\r")[1:]
    assert "25%" in frames[0] and "50/200 transactions" in frames[0]
    assert frames[-1].startswith("[" + "#" * 30 + "]") and "100%" in frames[-1]
    assert screen.getvalue().endswith("\n")


def test_redraws_at_most_every_interval():
    screen = Terminal()
    bar = ProgressBar(10**6, stream=screen, interval=3600)
    for done in range(0, 10**6, 1000):
        bar.update(done)
    assert screen.getvalue().count("\r") == 1


def test_silent_when_not_a_terminal():
    log = io.StringIO()
    bar = ProgressBar(10, stream=log, interval=0)
    bar.update(5)
    bar.finish()
    assert log.getvalue() == ""


def test_empty_total_is_complete():
    screen = Terminal()
    bar = ProgressBar(0, stream=screen, interval=0)
    bar.finish()
    assert "100%" in screen.getvalue()
