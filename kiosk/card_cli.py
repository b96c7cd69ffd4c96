"""`evac card …`: read a My Number card's 基本4情報, or run the software card."""
from __future__ import annotations

import argparse
import json
import sys

from evac.card.mynumber import CardError, checked_secret, read_basic4


def _fail(message: str) -> int:
    print(f"evac: {message}", file=sys.stderr)
    return 2


def read(args: argparse.Namespace) -> int:
    secret = sys.stdin.readline().strip()
    if not secret:
        return _fail("give the PIN (or 照合番号B) on standard input")
    from .card_readers import NfcReader, PcscReader
    try:
        # before the reader is opened: a mistyped number waits for no card and holds none
        secret = checked_secret(**({"pin": secret} if args.pin_stdin else {"code_b": secret}))
        reader = NfcReader(args.device or "usb", args.wait) if args.reader == "nfc" else PcscReader(args.reader_name)
        try:
            info = read_basic4(reader.transmit, **secret)
        finally:
            reader.close()
    except CardError as exc:
        return _fail(exc.message)
    print(json.dumps(info.to_json(), ensure_ascii=False))
    return 0


def emulate(args: argparse.Namespace) -> int:
    from evac.card.applet import CardIdentity, MyNumberApplet
    from .card_emulator import VPCD_PORT, NfcUdpCard, VpcdCard, synthetic_identity
    if args.identity_json:
        with open(args.identity_json, encoding="utf-8") as f:
            identity = CardIdentity(**json.load(f))
    else:
        identity = synthetic_identity(args.seed)
    applet = MyNumberApplet(identity, pin_tries=args.pin_tries)
    where = f"on nfcpy's udp device, port {args.port or 54321}" if args.nfc_udp else "in vpcd's reader"
    print(f"software My Number card for {identity.name} (PIN {identity.pin}) {where}", file=sys.stderr, flush=True)
    if args.nfc_udp:
        try:
            NfcUdpCard(applet, f"udp:127.0.0.1:{args.port or 54321}").serve()
        except KeyboardInterrupt:
            pass
        return 0
    try:
        while True:  # re-insert whenever pcscd drops the connection
            card = VpcdCard(applet, port=args.port or VPCD_PORT)
            card.insert(timeout=3600)
            card.serve()
    except KeyboardInterrupt:
        return 0
    except ConnectionError as exc:
        return _fail(str(exc))


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("read", help="read name, address, birth date and sex; prints one JSON object")
    p.add_argument("--reader", choices=("pcsc", "nfc"), required=True)
    p.add_argument("--device", help="nfcpy device path (usb:…, udp:…)")
    p.add_argument("--reader-name", help="PC/SC reader name (its beginning is enough)")
    p.add_argument("--wait", type=float, default=15.0, help="seconds to wait for a card on an NFC reader")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--pin-stdin", action="store_true", help="the 4-digit PIN on standard input")
    how.add_argument("--code-b-stdin", action="store_true", help="照合番号B (14 digits) on standard input")
    p.set_defaults(func=read)
    p = sub.add_parser("emulate", help="run a software My Number card with a synthetic identity")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--vpcd", action="store_true", help="in pcscd's vpcd virtual reader")
    where.add_argument("--nfc-udp", action="store_true", help="as a Type 4B card on nfcpy's udp device")
    p.add_argument("--port", type=int)
    p.add_argument("--identity-json", help="a JSON file with the card's identity (tests)")
    p.add_argument("--seed", type=int)
    p.add_argument("--pin-tries", type=int, default=3)
    p.set_defaults(func=emulate)
