"""The web process runner (``egg:polybanking#waitress``) that production.ini and development.ini use."""

import gc
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from plaster import get_loader

from polybanking import server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_interpreter():
    interval = sys.getswitchinterval()
    yield
    sys.setswitchinterval(interval)
    gc.unfreeze()


@pytest.mark.parametrize("ini", ["production.ini", "development.ini"])
def test_shipped_inis_serve_through_polybanking_runner(ini):
    server_section = get_loader(str(ROOT / ini), protocols=["wsgi"]).get_settings(
        "server:main", {"http_port": "6543"}
    )
    assert server_section["use"] == "egg:polybanking#waitress"
    [runner] = entry_points(group="paste.server_runner", name="waitress")
    assert runner.value == "polybanking.server:serve_paste"
    assert runner.load() is server.serve_paste


def test_prepare_process_sets_the_switch_interval_and_freezes_what_is_loaded(restored_interpreter):
    gc.unfreeze()
    loaded = {"routes": [], "mappers": []}  # stands for what loading the app made
    assert any(tracked is loaded for tracked in gc.get_objects())
    server.prepare_process(2.0)
    assert sys.getswitchinterval() == pytest.approx(0.002)
    # Out of the collector's generations: a full collection no longer walks it.
    assert not any(tracked is loaded for tracked in gc.get_objects())
    assert gc.get_freeze_count() > 0


def test_prepare_process_defaults_to_one_millisecond(restored_interpreter):
    server.prepare_process()
    assert sys.getswitchinterval() == pytest.approx(server.DEFAULT_SWITCH_INTERVAL_MS / 1000)


@pytest.mark.parametrize("interval", ["0", "-1", "1000", "fast", ""])
def test_an_absurd_switch_interval_is_refused_before_serving(restored_interpreter, interval):
    before = sys.getswitchinterval()
    with pytest.raises(ValueError, match="switch_interval_ms"):
        server.serve_paste(app=None, global_conf={}, switch_interval_ms=interval)
    assert sys.getswitchinterval() == before


def test_queue_depth_warning_is_rate_limited(caplog):
    """Under a rush waitress warns on every queued request; the operator gets one line a minute,
    saying how many were held back."""
    from waitress.task import ThreadedTaskDispatcher

    queue_logger = ThreadedTaskDispatcher.queue_logger  # the logger waitress itself warns on
    clock = [0.0]
    limit = server.limit_queue_warnings()
    limit.clock = lambda: clock[0]
    try:
        caplog.set_level(logging.WARNING, logger="waitress.queue")
        for depth in range(1, 1001):
            queue_logger.warning("Task queue depth is %d", depth)
            clock[0] += 0.01  # 1000 warnings in 10 s
        clock[0] = 61.0
        queue_logger.warning("Task queue depth is %d", 3)
        assert [r.getMessage() for r in caplog.records] == [
            "Task queue depth is 1",
            "Task queue depth is 3 (999 more such warnings in the last 60 s)",
        ]
        assert server.limit_queue_warnings() is not limit  # installed once per process, not stacked
        assert len(logging.getLogger("waitress.queue").filters) == 1
    finally:
        for installed in list(logging.getLogger("waitress.queue").filters):
            logging.getLogger("waitress.queue").removeFilter(installed)
