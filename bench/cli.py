"""`evac bench …`."""
from __future__ import annotations

import argparse
import json
from functools import wraps


def database_url(text: str) -> str:
    """argparse type for --db: a URL SQLAlchemy has a driver for (a file path is taken as SQLite)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from hq_dashboard.cli import database_url as as_url
    try:
        make_url(as_url(text)).get_dialect()
    except NoSuchModuleError:
        raise argparse.ArgumentTypeError(f"{text.split('://')[0]!r} のデータベースには対応していません / no database "
                                         f"driver for {text.split('://')[0]!r}: use sqlite:///PATH or "
                                         "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME") from None
    except ArgumentError:
        raise argparse.ArgumentTypeError(f"{text!r} はデータベースの URL ではありません / {text!r} is not a database "
                                         "URL") from None
    return as_url(text)


def _database_errors(command):
    """A database that cannot be reached is one line, not a traceback."""
    @wraps(command)
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import OperationalError

        from evac.cli import CommandError
        try:
            return command(args)
        except OperationalError as exc:
            reason = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
            raise CommandError(f"cannot open the database for the benchmark: {reason}", 1) from None
    return run


@_database_errors
def ingest(args: argparse.Namespace) -> int:
    from .ingest import run
    result = run(args.events, args.db, batch_size=args.batch, breakdown=args.breakdown)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


def card(args: argparse.Namespace) -> int:
    from .card import run
    print(json.dumps(run(args.reads)))
    return 0


def inquiries(args: argparse.Namespace) -> int:
    from .inquiries import run
    print(json.dumps(run(args.clients, args.per_client, args.persons, args.think_ms), ensure_ascii=False))
    return 0


@_database_errors
def map_page(args: argparse.Namespace) -> int:
    from .hq_map import run_map
    print(json.dumps(run_map(args.requests, args.db), ensure_ascii=False))
    return 0


@_database_errors
def occupancy(args: argparse.Namespace) -> int:
    from .hq_map import run_occupancy
    print(json.dumps(run_occupancy(args.persons, args.requests, args.db), ensure_ascii=False))
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    from evac.cli import positive_int
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="HQ's merge against a raw bulk insert of the same rows")
    p.add_argument("--events", type=positive_int, default=200_000)
    p.add_argument("--db", type=database_url, help="an empty database URL (default: fresh SQLite files in a temporary folder)")
    p.add_argument("--batch", type=positive_int, default=1000, help="events per kiosk batch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--breakdown", action="store_true",
                   help="also replay the merge's own writes without its Python: the database's share")
    p.set_defaults(func=ingest)
    p = sub.add_parser("card", help="a card read through pcscd, and the check-in after it (percentiles)")
    p.add_argument("--reads", type=positive_int, default=200)
    p.set_defaults(func=card)
    p = sub.add_parser("inquiries", help="safety inquiries from many clients at once against a real HQ process")
    p.add_argument("--clients", type=positive_int, default=200)
    p.add_argument("--per-client", type=positive_int, default=5, help="inquiries each client sends, one after another")
    p.add_argument("--persons", type=positive_int, default=5000, help="evacuees HQ holds")
    p.add_argument("--think-ms", type=float, default=1000,
                   help="mean pause between one client's inquiries (0: back to back)")
    p.set_defaults(func=inquiries)
    p = sub.add_parser("map", help="HQ's map page: server time and size with all sites and layers")
    p.add_argument("--requests", type=positive_int, default=20)
    p.add_argument("--db", type=database_url, help="an empty database URL (default: a fresh SQLite file)")
    p.set_defaults(func=map_page)
    p = sub.add_parser("occupancy", help="the shelter GeoJSON the map polls, with a city's worth of persons")
    p.add_argument("--persons", type=positive_int, default=135_000)
    p.add_argument("--requests", type=positive_int, default=200)
    p.add_argument("--db", type=database_url, help="an empty database URL (default: a fresh SQLite file)")
    p.set_defaults(func=occupancy)
