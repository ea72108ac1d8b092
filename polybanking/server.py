"""The web process: waitress, as ``egg:waitress#main`` runs it, in an interpreter set for a server.

``[server:main] use = egg:polybanking#waitress`` (production.ini, development.ini) takes waitress's
own options, plus ``switch_interval_ms``. Process-wide settings live here, in the server, because the
app is also built by tests, the worker and the command line, where they have no business.
"""

import gc
import sys

import waitress

#: bench/http_load.py on 2 cores, 50 clients: CPython's 5 ms leaves a thread back from the database
#: waiting for the GIL behind the others' work; 1 ms halves the bare view's p99 and lowers start's.
DEFAULT_SWITCH_INTERVAL_MS = 1.0


def switch_interval(value: str) -> float:
    """``switch_interval_ms`` read from the ini: milliseconds, more than 0 and at most 100."""
    try:
        milliseconds = float(value)
    except ValueError:
        raise ValueError(f"switch_interval_ms: {value!r} is not a number of milliseconds") from None
    if not 0 < milliseconds <= 100:
        raise ValueError(f"switch_interval_ms: must be more than 0 and at most 100, not {value}")
    return milliseconds


def prepare_process(switch_interval_ms: float = DEFAULT_SWITCH_INTERVAL_MS) -> None:
    """Tune the interpreter for many short requests on a handful of threads.

    - The GIL switch interval (see ``DEFAULT_SWITCH_INTERVAL_MS``).
    - ``gc.freeze()`` once the app is loaded: modules, mappers, routes and templates leave the cyclic
      collector's view, so a full collection under load walks only what requests made. Measured
      with bench/http_load.py: start's p99 on SQLite went from 142 ms to 78 ms.
    """
    sys.setswitchinterval(switch_interval_ms / 1000)
    gc.collect()
    gc.freeze()


def serve_paste(app, global_conf, switch_interval_ms: str = str(DEFAULT_SWITCH_INTERVAL_MS), **options):
    """PasteDeploy server runner (``egg:polybanking#waitress``): ``prepare_process``, then waitress."""
    prepare_process(switch_interval(switch_interval_ms))
    return waitress.serve_paste(app, global_conf, **options)
