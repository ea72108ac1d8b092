"""One watchdog thread per sender that ends attempts at their deadline.

A ``threading.Timer`` per attempt starts (and waits for) a new thread for every IPN: at a
backlog of thousands of IPNs a second, under the GIL, that handshake cost more than the post
itself. Here attempts are armed on a heap watched by one thread; an attempt that ends in time
is only marked done (the watchdog drops it when its deadline comes up), so arming and
disarming take no thread switch, and the watchdog wakes about once per ``timeout``.
"""

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Armed:
    """An armed deadline; ``disarm`` when the attempt ends in time."""

    __slots__ = ("cut", "done")

    def __init__(self, cut: Callable[[], None]):
        self.cut = cut
        self.done = False

    def disarm(self) -> None:
        self.done = True


class Watchdog:
    """Calls each armed ``cut`` at its deadline unless disarmed first; safe to share between threads."""

    def __init__(self, name: str = "ipn-deadlines"):
        self._name = name
        self._heap: list[tuple[float, int, Armed]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, cut: Callable[[], None]) -> Armed:
        """Call ``cut`` in ``seconds`` (from another thread) unless the result is disarmed."""
        armed = Armed(cut)
        deadline = time.monotonic() + seconds
        with self._wake:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (deadline, next(self._order), armed))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name=self._name, daemon=True)
                self._thread.start()
            elif earliest is None or deadline < earliest:
                self._wake.notify()
        return armed

    def _watch(self) -> None:
        while True:
            due: list[Armed] = []
            with self._wake:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    armed = heapq.heappop(self._heap)[2]
                    if not armed.done:
                        due.append(armed)
                if not due:
                    # Until the first live deadline; one disarmed meanwhile costs a single wake-up.
                    self._wake.wait(self._heap[0][0] - now if self._heap else None)
            for armed in due:
                if not armed.done:
                    armed.cut()
