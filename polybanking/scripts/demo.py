"""``polybanking demo``: what `make run` starts — the demo config, the web app and a worker.

The web app (pserve: gateway + sandbox + demo shop) and the worker are child processes; Ctrl-C or
the end of either stops both.
"""

import json
import os
import signal
import subprocess
import sys
import threading

from ..platforms import CHECKOUT
from .commands import create_config, read_settings

DEMO_NAME = "Demo shop"
CHECKOUT_DEMO_NAME = "Demo shop (Checkout)"


def run_demo(ini: str) -> int:
    _raw, settings = read_settings(ini)
    shop = settings.url("/sandbox/shop")
    config = create_config(
        ini,
        name=DEMO_NAME,
        url_ipn=f"{shop}/ipn",
        url_back_ok=f"{shop}/back/ok",
        url_back_err=f"{shop}/back/err",
        group="Demo",
        reuse=True,
    )
    print("Demo config (keep these keys to try the API or the client library):")
    print(json.dumps(config, indent=2))
    checkout = None
    if settings.checkout_test is not None:  # a second demo site, paying through Checkout's sandbox
        checkout = create_config(
            ini,
            name=CHECKOUT_DEMO_NAME,
            url_ipn=f"{shop}/ipn",
            url_back_ok=f"{shop}/back/ok",
            url_back_err=f"{shop}/back/err",
            group="Demo",
            platform=CHECKOUT,
            reuse=True,
        )
        print("Demo config on PostFinance Checkout:")
        print(json.dumps(checkout, indent=2))
    print(f"\nOpen {settings.url('/')} : the demo shop, the PostFinance sandbox and the admin pages.")
    print(f"Pay in the browser: {shop}/    (PostFinance sandbox: {settings.url('/sandbox/')})")
    print(f"Admin pages: {settings.url('/admin/')}; create the first admin user with")
    create = f".venv/bin/polybanking --ini {ini} user create --username admin --superuser"
    print(f"    echo 'a long password' | {create}")
    print("Stop with Ctrl-C.\n", flush=True)

    env = dict(os.environ)
    env.update(
        {
            "POLYBANKING_SANDBOX_SHOP_CONFIG_ID": str(config["id"]),
            "POLYBANKING_SANDBOX_SHOP_KEY_REQUEST": config["key_request"],
            "POLYBANKING_SANDBOX_SHOP_KEY_IPN": config["key_ipn"],
        }
    )
    if checkout is not None:
        env.update(
            {
                "POLYBANKING_SANDBOX_SHOP_CHECKOUT_CONFIG_ID": str(checkout["id"]),
                "POLYBANKING_SANDBOX_SHOP_CHECKOUT_KEY_REQUEST": checkout["key_request"],
                "POLYBANKING_SANDBOX_SHOP_CHECKOUT_KEY_IPN": checkout["key_ipn"],
            }
        )
    commands = [
        [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini, "worker"],
        [sys.executable, "-m", "pyramid.scripts.pserve", ini],
    ]
    stopping = threading.Event()

    def stop(_signum, _frame):
        stopping.set()

    # Ctrl-C reaches the children and this process together; SIGTERM is a service manager's stop.
    # Both are asked for explicitly: a shell starting us in the background would leave SIGINT ignored.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = [subprocess.Popen(command, env=env) for command in commands]  # noqa: S603 (our own argv)
    try:
        while not stopping.is_set() and all(child.poll() is None for child in children):
            stopping.wait(0.5)
        if not stopping.is_set():
            stopping.wait(1)  # a child that stopped on Ctrl-C may be seen before our own signal
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    # Only Ctrl-C (or SIGTERM) is a normal end: a child that stopped by itself is a failure.
    return 0 if stopping.is_set() else 1
