"""What the sandbox remembers of the payments it processed, as PostFinance's back office does.

Its own storage, never the gateway's models (DESIGN.md): a list in memory, kept in a JSON-lines
file when ``sandbox.ledger_file`` is set (so `make run` keeps its history across restarts). One
entry per PostFinance operation (PAYID/PAYIDSUB), like a line of the transaction report; a later
entry for the same PAYID/PAYIDSUB (an uncertain payment resolved) replaces it.
"""

import json
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ...platforms.epayment.statuses import UNCERTAIN_STATUSES, status_text

#: Later operations the tester can apply: action → (statuses it applies to, new status, new PAYIDSUB?).
ACTIONS = {
    "resolve-paid": (UNCERTAIN_STATUSES | {"51", "91"}, "9", False),
    "resolve-refused": (UNCERTAIN_STATUSES | {"51", "91"}, "93", False),
    "capture": (frozenset({"5"}), "9", True),
    "cancel": (frozenset({"5"}), "6", True),
    "refund": (frozenset({"9"}), "8", True),
    # A refund or cancellation left pending by maintenancedirect.asp, settled later (new PAYIDSUB).
    "refund-done": (frozenset({"81", "82"}), "8", True),
    "refund-refused": (frozenset({"81", "82"}), "83", True),
    "cancel-done": (frozenset({"61", "62"}), "6", True),
    "cancel-refused": (frozenset({"61", "62"}), "63", True),
}

#: Statuses of a refund line that count against what may still be refunded.
REFUNDING = frozenset({"8", "81", "82", "84", "85"})


@dataclass(frozen=True)
class Entry:
    env: str
    order_id: str
    pay_id: str
    pay_id_sub: int
    status: str
    amount: int  # cents
    currency: str
    brand: str
    card: str
    owner: str
    nc_error: str
    ordered_at: str  # ISO 8601, UTC
    changed_at: str
    #: A partial refund or capture line's own amount (cents); 0: the order's whole amount.
    operation_amount: int = 0

    @property
    def line_amount(self) -> int:
        return self.operation_amount or self.amount

    @property
    def status_text(self) -> str:
        return status_text(self.status)

    def actions(self) -> list[str]:
        return [name for name, (sources, _status, _sub) in ACTIONS.items() if self.status in sources]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    def __init__(self, path: str = ""):
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int], Entry] = {}
        self._path = Path(path) if path else None
        if self._path and self._path.exists():
            for line in self._path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._put(Entry(**json.loads(line)))

    def _put(self, entry: Entry) -> None:
        key = (entry.env, entry.pay_id, entry.pay_id_sub)
        self._entries.pop(key, None)  # re-inserted last: dicts keep the order of the latest change
        self._entries[key] = entry

    def record(self, entry: Entry) -> Entry:
        with self._lock:
            self._put(entry)
            if self._path:
                with self._path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(entry)) + "\n")
        return entry

    def entries(self, env: str) -> list[Entry]:
        """Every operation of ``env``, in the order of PAYID then PAYIDSUB (a report's order)."""
        with self._lock:
            found = [entry for entry in self._entries.values() if entry.env == env]
        return sorted(found, key=lambda e: (int(e.pay_id), e.pay_id_sub))

    def latest(self, env: str, order_id: str = "", pay_id: str = "") -> Entry | None:
        """The order's (or payment's) final state: its latest PAYID, highest PAYIDSUB."""
        matching = [
            e
            for e in self.entries(env)
            if (order_id and e.order_id == order_id) or (pay_id and e.pay_id == pay_id)
        ]
        return matching[-1] if matching else None

    def refunded(self, env: str, pay_id: str) -> int:
        """Cents refunded or being refunded of one payment (the last line of each PAYIDSUB)."""
        return sum(e.line_amount for e in self.entries(env) if e.pay_id == pay_id and e.status in REFUNDING)

    def was_paid(self, env: str, pay_id: str) -> bool:
        return any(e.pay_id == pay_id and e.status == "9" for e in self.entries(env))

    def add_operation(self, current: Entry, status: str, amount: int) -> Entry:
        """A new line (next PAYIDSUB) for an operation asked through DirectLink maintenance."""
        when = now_iso()
        return self.record(
            replace(
                current,
                pay_id_sub=max(e.pay_id_sub for e in self.entries(current.env) if e.pay_id == current.pay_id)
                + 1,
                status=status,
                nc_error="0",
                operation_amount=0 if amount == current.amount else amount,
                changed_at=when,
            )
        )

    def apply(self, env: str, pay_id: str, action: str) -> Entry | None:
        """A later operation on a payment; None when it does not apply to its current status."""
        current = self.latest(env, pay_id=pay_id)
        if current is None or action not in ACTIONS:
            return None
        sources, status, new_sub = ACTIONS[action]
        if current.status not in sources:
            return None
        return self.record(
            replace(
                current,
                status=status,
                pay_id_sub=current.pay_id_sub + (1 if new_sub else 0),
                nc_error="0" if status in ("5", "6", "8", "9") else current.nc_error,
                changed_at=now_iso(),
            )
        )
