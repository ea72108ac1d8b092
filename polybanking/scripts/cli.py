"""``polybanking [--ini FILE] COMMAND``: database set-up, configs, admin users, the worker, the IPN
outbox, reconciliation, exports and summaries.

The ini defaults to $POLYBANKING_INI, else development.ini. Errors, bad arguments included, are one
line on stderr and a non-zero exit, never a traceback.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence

from ..models.config import IPN_FORM, IPN_FORMATS
from ..platforms import EPAYMENT, PLATFORMS
from ..services.reports.exports.export import FORMATS
from ..services.reports.period import PERIODS
from ..services.reports.summary.summary import TRANSACTION_LISTS
from . import commands, reports

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with its complaint on one line (its usage block is what --help is for)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", choices=list(PERIODS), help="a named period (default: this-month)")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (included)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (included)")


def _report_parsers(sub) -> None:
    export = sub.add_parser(
        "export",
        help="export transactions (CSV, JSON, XML, Excel)",
        description="Days are the organisation's (polybanking.timezone), both ends included.",
    )
    export.add_argument("--format", required=True, choices=list(FORMATS))
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", metavar="CONFIG", help="one config: its number or exact name")
    which.add_argument("--all", action="store_true", help="every config")
    export.add_argument("--only-good", action="store_true", help="only good payments (status 5 or 9)")
    _period_arguments(export)
    export.add_argument(
        "-o", "--output", metavar="FILE", help="file, folder, or - for standard output "
        "(default: Export_<config|ALL>_<start>_<end>.<format> here)",
    )  # fmt: skip

    summary = sub.add_parser(
        "summary",
        help="sums paid per group, config and month, as PDF and/or CSV",
        description="Paid transactions (status 9) by day of creation in the organisation's time zone.",
    )
    _period_arguments(summary)
    summary.add_argument("--include-test", action="store_true", help="include configs in test mode")
    summary.add_argument(
        "--transactions", choices=TRANSACTION_LISTS, default="none", help="also list the paid transactions"
    )
    summary.add_argument("--pdf", metavar="FILE", help="write the PDF report here (a folder: default name)")
    summary.add_argument("--csv", metavar="FILE", help="write the CSV here (a folder: default name)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="polybanking", description=__doc__.splitlines()[0])
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
        "--api-refunds", action="store_true", help="let the website refund through the API (PROTOCOL §10)"
    )
    create.add_argument(
        "--platform",
        choices=PLATFORMS,
        default=EPAYMENT,
        help="the PostFinance platform taking its payments (default: epayment)",
    )
    create.add_argument(
        "--ipn-format",
        choices=IPN_FORMATS,
        default=IPN_FORM,
        help="the IPN's body: the 2014 form (default) or a Standard Webhooks JSON body",
    )
    create.add_argument(
        "--reuse", action="store_true", help="if a config of that name exists, print it instead"
    )
    create.add_argument("--json", action="store_true", help="print one JSON object")
    listed = config.add_parser("list", help="list the configs (number, name, group, mode; never their keys)")
    listed.add_argument("--json", action="store_true", help="print one JSON array")
    for name, verb in (("allow", "allow a user on a config"), ("deny", "take a user off a config")):
        access = config.add_parser(name, help=verb)
        access.add_argument("--config", required=True, help="the config's number or exact name")
        access.add_argument("--user", required=True, help="username")

    user = sub.add_parser("user", help="manage admin accounts").add_subparsers(
        dest="user_command", required=True
    )
    user_create = user.add_parser("create", help="create an admin account; the password is read from stdin")
    user_create.add_argument("--username", required=True)
    user_create.add_argument("--superuser", action="store_true", help="sees and does everything")
    user_create.add_argument("--staff", action="store_true", help="may create configs")

    sub.add_parser("demo", help="create the demo config, then serve the gateway and a worker (make run)")

    check = sub.add_parser(
        "check", help="validate the settings (and reach the database and queue); list every problem"
    )
    check.add_argument("--offline", action="store_true", help="do not connect to the database or queue")

    compare = sub.add_parser(
        "compare",
        help="compare a PostFinance transaction report (CSV or XML) with the database; "
        "exit 0 when everything matches, 1 on differences, 2 when the file cannot be read",
    )
    compare.add_argument(
        "file", nargs="?", help="the report (or Checkout export) downloaded from PostFinance's back office"
    )
    compare.add_argument(
        "--checkout-api", action="store_true", help="ask Checkout's API for the export instead of a file"
    )
    compare.add_argument("--live", action="store_true", help="compare with the live configs (default: test)")
    compare.add_argument("--csv", metavar="OUT", help="also write the differences to this CSV file")

    worker = sub.add_parser("worker", help="run the Huey consumer (IPN outbox, reconciliation)")
    worker.add_argument("--workers", type=int, default=2)

    ipn = sub.add_parser("ipn", help="the IPN outbox: status and resend").add_subparsers(
        dest="ipn_command", required=True
    )
    status = ipn.add_parser("status", help="list the IPNs pending and failed")
    status.add_argument("--limit", type=int, default=50, help="at most this many of each (default 50)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    resend = ipn.add_parser("resend", help="send IPNs again, now, on a fresh retry schedule")
    which = resend.add_mutually_exclusive_group(required=True)
    which.add_argument("--reference", help="the transaction's reference (with --config)")
    which.add_argument("--failed", action="store_true", help="every IPN given up (see --since)")
    resend.add_argument("--config", help="the config's number or name (with --reference)")
    resend.add_argument("--since", help="with --failed: only those last tried from this date (UTC)")
    for kind, verb in (("refund", "refund a paid transaction, wholly or in part"),
                       ("capture", "capture an authorised transaction (status 5)"),
                       ("cancel", "cancel an authorised transaction (status 5)")):  # fmt: skip
        operation = sub.add_parser(kind, help=verb + "; asks for confirmation unless --yes")
        operation.add_argument("--config", required=True, help="the config's number or name")
        operation.add_argument("--reference", required=True, help="the transaction's reference")
        if kind == "refund":
            operation.add_argument("--amount", type=int, metavar="CENTS", help="default: all that is left")
        operation.add_argument("--reason", required=True, help="why (kept in the transaction's log)")
        operation.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _report_parsers(sub)
    return parser


def _ipn(args) -> str:
    from . import ipn

    if args.ipn_command == "status":
        return ipn.status(args.ini, limit=args.limit, as_json=args.json)
    if args.reference is not None:
        if not args.config:
            raise commands.CommandError("--reference needs --config")
        if args.since:
            raise commands.CommandError("--since goes with --failed")
        return ipn.resend_one(args.ini, args.config, args.reference)
    if args.config:
        raise commands.CommandError("--config goes with --reference")
    return ipn.resend_failed(args.ini, args.since)


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
                platform=args.platform,
                ipn_format=args.ipn_format,
                max_amount=args.max_amount,
                api_refunds=args.api_refunds,
                reuse=args.reuse,
            )
            if args.json:
                print(json.dumps(result))
            else:
                for key, value in result.items():
                    print(f"{key}: {value}")
        elif args.command == "config" and args.config_command == "list":
            configs = commands.list_configs(args.ini)
            if args.json:
                print(json.dumps(configs))
            else:
                for c in configs:
                    mode = "test" if c["test_mode"] else "live"
                    state = "" if c["active"] and c["admin_enable"] else " (switched off)"
                    group = f" [{c['group']}]" if c["group"] else ""
                    print(f"{c['id']:>5}  {c['name']}{group}, {mode}{state}")
        elif args.command == "config" and args.config_command in ("allow", "deny"):
            allowed = args.config_command == "allow"
            changed = commands.allow_user(
                args.ini, config_id=args.config, username=args.user, allowed=allowed
            )
            state = "allowed on" if allowed else "no longer allowed on"
            print(f"{args.user} {state} config {args.config}" + ("" if changed else " (no change)"))
        elif args.command == "user" and args.user_command == "create":
            password = commands.read_password(sys.stdin)
            user_id = commands.create_user(
                args.ini,
                username=args.username,
                password=password,
                superuser=args.superuser,
                staff=args.staff,
            )
            print(f"user {args.username} created (id {user_id})")
        elif args.command == "demo":
            from .demo import run_demo

            return run_demo(args.ini)
        elif args.command == "check":
            from .check import check_configuration, print_report

            return print_report(check_configuration(args.ini, offline=args.offline, configure_logging=True))
        elif args.command == "compare":
            return commands.compare(
                args.ini, args.file, live=args.live, csv_path=args.csv, checkout_api=args.checkout_api
            )
        elif args.command == "worker":
            commands.run_worker(args.ini, workers=args.workers)
        elif args.command == "ipn":
            print(_ipn(args))
        elif args.command in ("refund", "capture", "cancel"):
            from .operations import operate

            print(
                operate(
                    args.ini,
                    args.command,
                    config=args.config,
                    reference=args.reference,
                    amount=getattr(args, "amount", None),
                    reason=args.reason,
                    yes=args.yes,
                )
            )
        elif args.command == "export":
            where, rows = reports.export(
                args.ini,
                format=args.format,
                config_id=None if args.all else args.config,
                only_good=args.only_good,
                period=args.period,
                start=args.start,
                end=args.end,
                output=args.output,
            )
            if where != reports.STDOUT:
                print(f"{rows} transactions written to {where}")
        elif args.command == "summary":
            for where in reports.summary(
                args.ini,
                period=args.period,
                start=args.start,
                end=args.end,
                include_test=args.include_test,
                transactions=args.transactions,
                pdf=args.pdf,
                csv=args.csv,
            ):
                if where != reports.STDOUT:
                    print(f"summary written to {where}")
    except commands.CommandError as error:
        print(f"polybanking: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of `-o -` stopped early (`| head`): not an error worth a traceback. Python's
        # documented recipe: point stdout at /dev/null so the flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
