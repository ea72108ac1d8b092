"""``polybanking [--ini FILE] COMMAND``: database set-up, configs, and the background worker.

The ini defaults to $POLYBANKING_INI, else development.ini. Errors are one line on stderr and a
non-zero exit, never a traceback.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import commands

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polybanking", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ini",
        default=os.environ.get("POLYBANKING_INI", "development.ini"),
        help="settings file (default: $POLYBANKING_INI, else development.ini)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("initdb", help="create or upgrade the schema to the newest migration")

    config = sub.add_parser("config", help="manage website configs").add_subparsers(
        dest="config_command", required=True
    )
    create = config.add_parser("create", help="create a config and print its secrets")
    create.add_argument("--name", required=True)
    create.add_argument("--url-ipn", required=True)
    create.add_argument("--url-back-ok", required=True)
    create.add_argument("--url-back-err", required=True)
    create.add_argument("--group", default="")
    create.add_argument("--max-amount", type=int, help="largest accepted amount, in cents")
    create.add_argument("--live", action="store_true", help="use PostFinance's production environment")
    create.add_argument(
        "--reuse", action="store_true", help="if a config of that name exists, print it instead"
    )
    create.add_argument("--json", action="store_true", help="print one JSON object")

    sub.add_parser("demo", help="create the demo config, then serve the gateway and a worker (make run)")

    check = sub.add_parser(
        "check", help="validate the settings (and reach the database and queue); list every problem"
    )
    check.add_argument("--offline", action="store_true", help="do not connect to the database or queue")

    worker = sub.add_parser("worker", help="run the Huey consumer with the app's settings")
    worker.add_argument("--workers", type=int, default=2)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "initdb":
            commands.initdb(args.ini)
            print("database is at the newest migration")
        elif args.command == "config" and args.config_command == "create":
            result = commands.create_config(
                args.ini,
                name=args.name,
                url_ipn=args.url_ipn,
                url_back_ok=args.url_back_ok,
                url_back_err=args.url_back_err,
                group=args.group,
                live=args.live,
                max_amount=args.max_amount,
                reuse=args.reuse,
            )
            if args.json:
                print(json.dumps(result))
            else:
                for key, value in result.items():
                    print(f"{key}: {value}")
        elif args.command == "demo":
            from .demo import run_demo

            return run_demo(args.ini)
        elif args.command == "check":
            from .check import check_configuration, print_report

            return print_report(check_configuration(args.ini, offline=args.offline, configure_logging=True))
        elif args.command == "worker":
            commands.run_worker(args.ini, workers=args.workers)
    except commands.CommandError as error:
        print(f"polybanking: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
