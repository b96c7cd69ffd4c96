"""`evac bench …`."""
from __future__ import annotations

import argparse
import json


def ingest(args: argparse.Namespace) -> int:
    from .ingest import run
    result = run(args.events, args.db, batch_size=args.batch)
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


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="HQ's merge against a raw bulk insert of the same rows")
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--db", help="an empty database URL (default: fresh SQLite files in a temporary folder)")
    p.add_argument("--batch", type=int, default=1000, help="events per kiosk batch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=ingest)
    p = sub.add_parser("card", help="a card read through pcscd, and the check-in after it (percentiles)")
    p.add_argument("--reads", type=int, default=200)
    p.set_defaults(func=card)
