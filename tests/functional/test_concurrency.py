"""Two starts with one reference at the same moment: the database decides, exactly one wins."""

import threading

import requests
from sqlalchemy import func, select

from polybanking.models import Transaction
from polybanking.services.payments.start import StartError, start_payment

from ..conftest import committed
from ..website import start_params


def test_parallel_http_starts_with_one_reference(live_server, app, make_config, db):
    config = make_config()
    references = [f"race-{n}" for n in range(12)]
    answers: dict[str, list[str]] = {ref: [] for ref in references}
    lock = threading.Lock()

    def start(reference, barrier):
        barrier.wait()
        answer = requests.post(
            f"{live_server.url}/paiements/start/", data=start_params(config, "100", reference), timeout=30
        )
        with lock:
            answers[reference].append(answer.json()["status"])

    for reference in references:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=start, args=(reference, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for reference, statuses in answers.items():
        assert sorted(statuses) == ["OK", "REFERENCE_ERROR"], reference
    count = db.run(lambda s: s.scalar(select(func.count()).select_from(Transaction)))
    assert count == len(references)


def test_second_insert_loses_on_the_constraint_while_first_is_uncommitted(app, make_config, db):
    """The losing request waits for the winner's commit (row lock or SQLite's write lock) and then
    answers REFERENCE_ERROR: no check-then-insert window."""
    config = make_config()
    params = start_params(config, "100", "same-ref")
    outcome: list[str] = []

    def second():
        try:
            with committed(db.factory) as session:
                start_payment(session, params)
            outcome.append("OK")
        except StartError as error:
            outcome.append(error.status)

    with committed(db.factory) as session:
        start_payment(session, params)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second start must wait for the first transaction"
    thread.join(timeout=30)
    assert outcome == ["REFERENCE_ERROR"]
    rows = db.run(lambda s: s.scalar(select(func.count()).select_from(Transaction)))
    assert rows == 1


def test_distinct_references_in_parallel_all_succeed(live_server, app, make_config):
    config = make_config()
    results: list[str] = []
    parallel = 6
    barrier = threading.Barrier(parallel)

    def start(reference):
        barrier.wait()
        answer = requests.post(
            f"{live_server.url}/paiements/start/", data=start_params(config, "100", reference), timeout=30
        )
        results.append(answer.json()["status"])

    threads = [threading.Thread(target=start, args=(f"ref-{i}",)) for i in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["OK"] * parallel
