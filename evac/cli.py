"""The `evac` command.  It only dispatches: the HQ and kiosk commands live beside their apps,
so the domain core never imports Flask."""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from hq_dashboard import cli as hq_cli
    from kiosk import card_cli, cli as kiosk_cli
    from bench import cli as bench_cli
    from . import demo

    parser = argparse.ArgumentParser(prog="evac", description="Yaizu shelter check-in and safety confirmation")
    sub = parser.add_subparsers(dest="area", required=True)
    hq_cli.register(sub.add_parser("hq", help="the HQ service"))
    kiosk_cli.register(sub.add_parser("kiosk", help="a shelter kiosk"))
    card_cli.register(sub.add_parser("card", help="My Number card reading and the software card"))
    bench_cli.register(sub.add_parser("bench", help="benchmarks"))
    demo.register(sub.add_parser("demo", help="HQ and three kiosks with simulated arrivals"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
