"""The `evac` command.  It only dispatches: the HQ and kiosk commands live beside their apps,
so the domain core never imports Flask."""
from __future__ import annotations

import argparse
import sys


class CommandError(Exception):
    """A command refuses: the message (one line, saying what to do) goes to stderr, no traceback."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (a count of requests, threads, events…)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} は整数ではありません / {text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"1 以上にしてください（いまは {value}） / must be 1 or more, not {value}")
    return value


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} はポート番号ではありません / {text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ポート番号は 1〜65535 です（いまは {value}） / a port is 1 to 65535, not {value}")
    return value


def listen_trouble(host: str, port: int, exc: Exception, host_flag: str = "--host",
                   port_flag: str = "--port") -> tuple[str, str]:
    """Why a server could not start listening, and what to change (`host_flag`, `port_flag`: the options
    that gave them): (English, Japanese)."""
    import errno
    import socket
    unknown_host = tuple(getattr(socket, n) for n in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL") if hasattr(socket, n))
    if getattr(exc, "errno", None) == errno.EADDRINUSE:
        return (f"port {port} on {host} is in use by another program (another HQ or kiosk?); "
                f"stop it or give {port_flag} another number",
                f"{host} のポート {port} は別のプログラム（別の本部か端末？）が使っています。それを止めるか、"
                f"{port_flag} に別の番号を指定してください")
    if getattr(exc, "errno", None) == errno.EADDRNOTAVAIL:
        return (f"cannot listen on {host}: it is not an address of this machine (check {host_flag})",
                f"{host} で待ち受けできません。このコンピューターのアドレスではありません（{host_flag} を確かめてください）")
    if isinstance(exc, (ValueError, socket.gaierror)) or getattr(exc, "errno", None) in unknown_host:
        return (f"cannot listen on {host}: no such address or host name (check {host_flag})",
                f"{host} で待ち受けできません。そのようなアドレスやホスト名はありません（{host_flag} を確かめてください）")
    why = getattr(exc, "strerror", None) or exc
    return (f"cannot listen on {host}:{port}: {why} (check {host_flag} and {port_flag})",
            f"{host}:{port} で待ち受けできません（{why}）。{host_flag} と {port_flag} を確かめてください")


def loopback(host: str) -> bool:
    """A --host that only this machine reaches."""
    import ipaddress
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_whole(path, data: bytes) -> None:
    """Write beside the target and rename over it: a full disk never leaves half a document.  The file
    is readable by this user only (NamedTemporaryFile's 0600): what is written holds people's data."""
    import os
    import tempfile
    from pathlib import Path

    path, tmp = Path(path), None
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
            tmp = Path(f.name)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {exc.strerror or exc} (check --out: the folder must exist "
                           "and be writable); nothing was written") from None


# Each area's commands, and where they are defined.  Only the area a command names is imported: HQ's
# Flask, SQLAlchemy and Alembic cost a kiosk command (a paper form typed in) half a second otherwise.
AREAS = {
    "hq": ("hq_dashboard.cli", "the HQ service"),
    "kiosk": ("kiosk.cli", "a shelter kiosk"),
    "card": ("kiosk.card_cli", "My Number card reading and the software card"),
    "bench": ("bench.cli", "benchmarks"),
    "demo": ("evac.demo", "HQ and three kiosks with simulated arrivals"),
}


def build_parser(area: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `area`, only that area's commands are defined (the others are listed)."""
    import importlib

    from .usage import ArgumentParser
    parser = ArgumentParser(prog="evac", description="Yaizu shelter check-in and safety confirmation")
    sub = parser.add_subparsers(dest="area")
    for name, (module, help_text) in AREAS.items():
        p = sub.add_parser(name, help=help_text)
        if area is None or name == area:
            importlib.import_module(module).register(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in AREAS else None)
    args = parser.parse_args(argv)
    if args.area is None:  # `evac` alone: what it can do, not "the following arguments are required"
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args) or 0
    except CommandError as exc:
        print(f"evac: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # `python -m evac.cli` runs this file as __main__: run it as evac.cli, so that the CommandError
    # the commands raise (imported from evac.cli) is the one main() catches.
    from evac.cli import main as _main
    sys.exit(_main())
