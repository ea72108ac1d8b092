"""The open-loop load generator of ``bench/http_load.py --open-loop``: requests on a fixed schedule.

A closed loop (each client waits for its answer before the next request) slows down when the
server does, so a stall shows as fewer requests rather than as waiting shoppers. Here request
``i`` is due at ``start + i / rate`` whatever happened before, each on a keep-alive connection
that is free at that moment (a new one is opened when none is), and its latency counts from the
time it was due: a server that stalls for a second shows a second of latency on every request
that came due meanwhile.

Kinds: ``bare`` (the one-view app), ``start`` (``/paiements/start/``) and ``payment``: a whole
payment as a shopper, PostFinance and the shopper's browser make it, one step after the other:
the website's start, the shopper's ``go``, PostFinance's post-sale feedback (SHA-OUT signed, as
the sandbox signs it) and the shopper's return. Each step's latency counts from when it could
begin (the payment's due time for the start, the previous step's answer for the others).
"""

import asyncio
import re
import time
from urllib.parse import urlencode

GO_FIELD = re.compile(rb'name="([A-Z]+)" value="([^"]*)"')
STEPS = {"bare": ("bare",), "start": ("start",), "payment": ("start", "go", "postsale", "return")}


class Connections:
    """Keep-alive connections to the server: a free one when there is, else a new one."""

    def __init__(self, port: int):
        self.port = port
        self.free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
        if self.free:
            reader, writer = self.free.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
        writer.write(head.encode("ascii") + b"\r\n" + body)
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = await reader.readexactly(int(headers.get("content-length", "0")))
        self.free.append((reader, writer))
        return status, headers, answer

    def close(self) -> None:
        for _reader, writer in self.free:
            writer.close()


async def _payment(connections: Connections, number: int, spec: dict, due: float, latencies: dict) -> None:
    """One whole payment; raises on any answer a real shopper would be stuck with."""
    from polybanking.sandbox.epayment.feedback import feedback_params
    from polybanking.settings import PostFinanceEnvironment

    began = due
    status, _headers, body = await connections.request("POST", "/paiements/start/", start_body(number, spec))
    if status != 200:
        raise AssertionError(f"start answered {status}")
    latencies["start"].append(time.perf_counter() - began)
    token = body.split(b'"url": "')[1].split(b'"')[0].rsplit(b"/", 1)[1].decode()

    began = time.perf_counter()
    status, _headers, body = await connections.request("GET", f"/paiements/go/{token}")
    if status != 200:
        raise AssertionError(f"go answered {status}")
    latencies["go"].append(time.perf_counter() - began)
    form = {name.decode(): value.decode() for name, value in GO_FIELD.findall(body)}

    env = PostFinanceEnvironment("test", form["PSPID"], "", spec["sha_out"], "")
    params = feedback_params(form, "pay", env, spec["algorithm"], str(3_000_000_000 + number))
    began = time.perf_counter()
    status, _headers, _body = await connections.request("POST", "/paiements/ipn", urlencode(params).encode())
    if status != 200:
        raise AssertionError(f"post-sale answered {status}")
    latencies["postsale"].append(time.perf_counter() - began)

    began = time.perf_counter()
    status, headers, _body = await connections.request("GET", "/paiements/return?" + urlencode(params))
    if status != 303 or headers.get("location") != spec["url_back_ok"]:
        raise AssertionError(f"return answered {status} to {headers.get('location')}")
    latencies["return"].append(time.perf_counter() - began)


def start_body(number: int, spec: dict) -> bytes:
    from http_load import start_body as signed_start  # as a website signs it (PROTOCOL §1)

    return signed_start(spec, f"{spec['run']}-open-{number}")


async def _one(connections: Connections, kind: str, number: int, spec: dict, due: float, result: dict):
    try:
        if kind == "payment":
            await _payment(connections, number, spec, due, result["latencies"])
            return
        path, body = ("/bare/", b"") if kind == "bare" else ("/paiements/start/", start_body(number, spec))
        status, _headers, _body = await connections.request("POST", path, body)
        if status != 200:
            raise AssertionError(f"{kind} answered {status}")
        result["latencies"][kind].append(time.perf_counter() - due)
    except Exception as error:  # counted and shown, never hidden: an error is a failed target
        result["errors"].append(f"{type(error).__name__}: {error}"[:200])


def open_loop(port: int, kind: str, rate: float, seconds: float, spec: dict) -> dict:
    """Send ``rate`` requests (or payments) a second for ``seconds``; latencies in milliseconds."""
    result: dict = {"latencies": {step: [] for step in STEPS[kind]}, "errors": [], "late_sends": 0}

    async def run() -> None:
        connections = Connections(port)
        tasks = []
        start = time.perf_counter() + 0.05
        for number in range(int(rate * seconds)):
            due = start + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                result["late_sends"] += 1  # the generator itself fell behind: its own figure
            tasks.append(asyncio.create_task(_one(connections, kind, number, spec, due, result)))
        await asyncio.gather(*tasks)
        connections.close()

    asyncio.run(run())
    result["latencies"] = {
        step: [round(latency * 1000, 2) for latency in values] for step, values in result["latencies"].items()
    }
    return result
