"""`evac hq …`: serve HQ, enroll kiosks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def database_url(value: str | None) -> str | None:
    """A URL as given, or a plain file path taken as a SQLite database."""
    if value and "://" not in value:
        return f"sqlite:///{Path(value).resolve()}"
    return value


def _app(db: str | None):
    from . import create_app, prepare_database
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(db)} if db else None)
    prepare_database(app)
    return app


def serve(args: argparse.Namespace) -> int:
    import waitress
    app = _app(args.db)
    from .map_page import warm_up
    warm_up(app)
    print(f"HQ serving on http://{args.host}:{args.port} ({app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]})",
          file=sys.stderr, flush=True)
    # A production WSGI server: a fixed pool of threads and HTTP keep-alive, so that hundreds of
    # families asking at once queue for a thread instead of each starting one.
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, connection_limit=1000,
                   channel_timeout=60, ident="evac-hq", _quiet=True)
    return 0


def enroll(args: argparse.Namespace) -> int:
    from .db import db
    from .enrollment import EnrollmentError, enroll_kiosk
    app = _app(args.db)
    with app.app_context():
        try:
            token = enroll_kiosk(db.session, args.shelter)
        except EnrollmentError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
    print(token)
    return 0


def revoke(args: argparse.Namespace) -> int:
    from . import prereg
    from .db import db
    app = _app(args.db)
    with app.app_context():
        if not prereg.revoke(db.session, args.household):
            print(f"evac: no pre-registered household {args.household!r}", file=sys.stderr)
            return 2
    print(f"revoked {args.household}; kiosks refuse its QR after their next sync")
    return 0


def rotate(args: argparse.Namespace) -> int:
    from . import prereg
    from .db import db
    app = _app(args.db)
    with app.app_context():
        print(prereg.rotate_key(db.session))
    return 0


def add_staff(args: argparse.Namespace) -> int:
    from .db import db
    from .staff import add_staff as create
    password = sys.stdin.readline().rstrip("\n")
    app = _app(args.db)
    with app.app_context():
        try:
            create(db.session, args.username, password)
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
    print(f"staff member {args.username} can now log in at /staff/login")
    return 0


def export_pfif(args: argparse.Namespace) -> int:
    from . import pfif_exchange
    from .db import db
    app = _app(args.db)
    with app.app_context():
        document, count = pfif_exchange.export(db.session, args.domain)
    if args.out:
        Path(args.out).write_bytes(document)
    else:
        sys.stdout.buffer.write(document)
    print(f"exported {count} person record(s) with public consent", file=sys.stderr)
    return 0


def import_pfif(args: argparse.Namespace) -> int:
    from evac.pfif import InvalidPFIF

    from . import pfif_exchange
    from .db import db
    try:
        document = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"evac: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    app = _app(args.db)
    with app.app_context():
        try:
            summary = pfif_exchange.import_document(db.session, document, args.domain)
        except InvalidPFIF as exc:
            print(f"evac: {args.file} is not valid PFIF 1.4, nothing was imported:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 2
    print(f"added {summary.added}, updated {summary.updated}, skipped {len(summary.skipped)}")
    for reason in summary.skipped:
        print(f"  skipped {reason}")
def import_(args: argparse.Namespace) -> int:
    from evac.opendata import ImportFormatError
    from .db import db
    from .importing import import_file
    app = _app(args.db)
    with app.app_context():
        try:
            summary = import_file(db.session, args.path, area_per_person_m2=app.config["AREA_PER_PERSON_M2"],
                                  hazard=args.hazard, title=args.title, credit=args.credit,
                                  progress=not args.quiet)
        except (ImportFormatError, ValueError) as exc:
            print(f"evac: import refused, nothing was changed: {exc}", file=sys.stderr)
            return 2
    for line in summary.lines():
        print(line)
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run HQ; an empty database is seeded with Yaizu's shelters")
    p.add_argument("--db", help="database URL (sqlite:///…, postgresql+psycopg://…) or a SQLite file path")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--threads", type=int, default=16, help="request threads")
    p.set_defaults(func=serve)
    p = sub.add_parser("enroll-kiosk", help="enroll a kiosk at a shelter and print its token")
    p.add_argument("--db")
    p.add_argument("--shelter", required=True)
    p.set_defaults(func=enroll)
    p = sub.add_parser("revoke-prereg", help="cancel a pre-registered household's QR")
    p.add_argument("--db")
    p.add_argument("household")
    p.set_defaults(func=revoke)
    p = sub.add_parser("import", help="import a site list (CSV) or a hazard layer (GeoJSON, shapefile)")
    p.add_argument("path")
    p.add_argument("--db")
    p.add_argument("--hazard", action="append", help="disaster a hazard layer is for (repeatable), e.g. tsunami")
    p.add_argument("--title", help="the hazard layer's name on the map")
    p.add_argument("--credit", help="the hazard layer source's credit line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=import_)
    p = sub.add_parser("rotate-prereg-key", help="sign new QRs with a new key (old QRs stay valid)")
    p.add_argument("--db")
    p.set_defaults(func=rotate)
    p = sub.add_parser("add-staff", help="add an HQ staff member (reviews safety inquiries); password on stdin")
    p.add_argument("--db")
    p.add_argument("--username", required=True)
    p.set_defaults(func=add_staff)
    p = sub.add_parser("export-pfif", help="PFIF 1.4 of the people who consented to public disclosure")
    p.add_argument("--db")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--domain", default="yaizu.evac.example", help="the PFIF record id domain of this HQ")
    p.set_defaults(func=export_pfif)
    p = sub.add_parser("import-pfif", help="import person records and notes from another finder (PFIF 1.4)")
    p.add_argument("--db")
    p.add_argument("--domain", default="yaizu.evac.example", help="this HQ's own domain (its records are skipped)")
    p.add_argument("file")
    p.set_defaults(func=import_pfif)
