"""`evac hq …`: serve HQ, enroll kiosks."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path


def database_url(value: str | None) -> str | None:
    """A URL as given, or a plain file path taken as a SQLite database.  A SQLite URL's relative path is
    made absolute here: Flask-SQLAlchemy would take it from the app's instance folder (in the source
    tree), while the checks and the private file are made in the current folder, two files for one --db."""
    if value and "://" not in value:
        return f"sqlite:///{Path(value).resolve()}"
    if value and value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        path, query = value[len("sqlite:///"):].partition("?")[::2]
        if path and path != ":memory:":
            return f"sqlite:///{Path(path).resolve()}" + (f"?{query}" if query else "")
    return value


def _both(ja: str, en: str) -> str:
    """A refusal as HQ's operators read it: Japanese first, then the English (for a message with no
    Japanese, the English alone)."""
    return f"{ja} / {en}" if ja else en


# A SQLite database's files: the database, its WAL and shared memory, and HQ's secret key beside it.
_SQLITE_FILES = ("", "-wal", "-shm", ".secret-key")


def _app(db: str | None, create: bool = False, config: dict | None = None, made: list[Path] | None = None):
    """HQ's app on its database, brought up to date.  Only `serve` and `init` (create=True) may make
    a new SQLite file; anything that cannot be opened is refused in one line that says why.  `made`
    is given the files this run created (a new SQLite file's), for a caller that may yet fail."""
    import logging

    from evac.cli import CommandError

    from . import SettingError, create_app, prepare_database
    from .db import MigrationFailed
    url = database_url(db) or os.environ.get("EVAC_SQLALCHEMY_DATABASE_URI")
    if not url:  # the default, var/hq.sqlite3; its folder is made only by a command that may make the database
        var = Path(os.environ.get("EVAC_VAR_DIR", Path.cwd() / "var"))
        if create:
            var.mkdir(parents=True, exist_ok=True)
        url = database_url(str(var / "hq.sqlite3"))
    shown, sqlite_file = _check_url(url, create)
    new_file = None if sqlite_file is None or sqlite_file.exists() else sqlite_file
    fresh = [] if new_file is None else [p for p in (Path(f"{new_file}{x}") for x in _SQLITE_FILES) if not p.exists()]
    if sqlite_file is not None and create:
        from evac import dbfiles
        try:   # evacuees' records: its owner's only (a new file is removed again if the start fails)
            dbfiles.create_private(sqlite_file, dbfiles.HQ)
        except dbfiles.DatabaseFileError as exc:
            raise CommandError(_both(exc.ja, str(exc))) from None
    var = Path(os.environ.get("EVAC_VAR_DIR", Path.cwd() / "var"))
    var_made = not var.exists()   # (HQ on PostgreSQL makes it for its secret key)
    app = None
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, **(config or {})})
        _check_area_per_person(app.config["AREA_PER_PERSON_M2"])
        # Alembic tells of every migration it runs at INFO: noise before the command's own answer.
        logging.disable(logging.INFO)
        try:
            prepare_database(app, upgrade_schema=create)   # only serve and init upgrade an older schema
        finally:
            logging.disable(logging.NOTSET)
    except Exception as exc:  # the driver's own error types vary (sqlite3, psycopg, sqlalchemy)
        _remove(fresh)  # nothing half-made is left where the typo or the failure pointed
        _remove_new_secret_key(app, var if var_made else None)
        if _is_busy(exc):   # open, but another process is writing it: said as busy (_busy_said)
            raise
        if isinstance(exc, (SettingError, MigrationFailed)):
            raise CommandError(str(exc)) from None
        if isinstance(exc, CommandError) or not _is_opening_error(exc):
            raise
        en, ja = _in_words(exc, shown)
        if _password_swallowed(url):
            en, ja = en + "; " + _ENCODE_PASSWORD, ja + "。" + _ENCODE_PASSWORD_JA
        raise CommandError(f"本部のデータベース（{shown}）を開けません。{ja} / cannot open the HQ database at "
                           f"{shown}: {en}") from None
    if made is not None:
        made.extend(fresh)
    return app


def _remove(files: list[Path], app=None) -> None:
    """Delete files this run created (a new SQLite database), its connections closed first."""
    if app is not None:
        from .db import db
        with app.app_context():
            db.engine.dispose()
    for path in files:
        path.unlink(missing_ok=True)


def _remove_new_secret_key(app, var: Path | None) -> None:
    """The secret key this run made for a database it then could not use (on PostgreSQL, in ./var: a typo
    in --db left a key file and a folder in whatever folder the command was run from), and the folder made
    for it, if nothing else is in it: a refused command changes nothing."""
    from . import NEW_SECRET_KEY
    made = app.extensions.get(NEW_SECRET_KEY) if app is not None else None
    if made and made["path"] is not None:
        made["path"].unlink(missing_ok=True)
    if var is not None:
        try:
            var.rmdir()
        except OSError:   # not empty, or not there
            pass


def _check_url(url: str, create: bool) -> tuple[str, Path | None]:
    """(the URL as shown to people, without its password; the SQLite file, if HQ is on one)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from evac import dbfiles
    from evac.cli import CommandError
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:  # (a kind of ArgumentError)
        given, driver = make_url(url).render_as_string(hide_password=True), make_url(url).drivername
        raise CommandError(f"--db {given!r}: {driver!r} というデータベースのドライバはありません。本部は sqlite:///PATH "
                           "か postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME で動きます / "
                           f"--db {given!r}: no database driver called {driver!r}; HQ runs on sqlite:///PATH or "
                           "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME") from None
    except ArgumentError:
        raise CommandError(f"--db {url!r} はデータベースの URL でもファイルのパスでもありません。SQLite ファイルのパス、"
                           "sqlite:///PATH、postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME のどれかを指定してください / "
                           f"--db {url!r} is neither a database URL nor a file path: use a SQLite file's path, "
                           "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME") from None
    if parsed.get_backend_name() != "sqlite":
        return _shown(url), None
    if not parsed.database or parsed.database == ":memory:":
        return url, None
    path = Path(parsed.database)
    try:
        dbfiles.check(path, dbfiles.HQ, create, "`evac hq serve` or `evac hq init`")
    except dbfiles.DatabaseFileError as exc:
        raise CommandError(_both(exc.ja, str(exc))) from None
    return str(path), path


def _shown(url: str) -> str:
    """Where the database is, for people: a SQLite file's path, or the URL without its password."""
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _check_area_per_person(value) -> None:
    import math

    from evac.cli import CommandError
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number > 0 or math.isinf(number):
        raise CommandError(f"EVAC_AREA_PER_PERSON_M2 は避難者1人あたりの床面積（平方メートル）で、0 より大きい数です"
                           f"（例 3.3）。{value!r} は使えません。何も変更していません / "
                           f"EVAC_AREA_PER_PERSON_M2 must be the floor area per evacuee in square metres, "
                           f"a number above 0 (e.g. 3.3), not {value!r}; nothing was changed")


def _is_opening_error(exc: BaseException) -> bool:
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError
    return isinstance(exc, (SQLAlchemyError, sqlite3.Error, OSError, ImportError))


_ENCODE_PASSWORD_JA = ("パスワードに「@」や「/」が入っているなら、URL の中では %40（@）、%2F（/）のように書いてください"
                       "（または URL にパスワードを書かず、環境変数 PGPASSWORD で渡してください）")
_ENCODE_PASSWORD = ("if the password holds '@' or '/', URL-encode it in the URL (%40 for @, %2F for /), or leave it "
                    "out of the URL and give it in the environment variable PGPASSWORD")


def _password_swallowed(url: str) -> bool:
    """An '@' left as it is in the URL's password: what follows it is taken for the host (evac:pa@ss@host: the
    host 'ss@host'), or, with a '/' too, for the host and the database (evac:p@ss/w@host/evac: the host 'ss')."""
    from sqlalchemy.engine import make_url
    try:
        parsed = make_url(url)
    except Exception:   # (refused before, by _check_url)
        return False
    return parsed.get_backend_name() != "sqlite" and "@" in f"{parsed.host or ''}{parsed.database or ''}"


def _in_words(exc: BaseException, shown: str) -> tuple[str, str]:
    """Why HQ's database at `shown` cannot be opened: (in English, in Japanese)."""
    from evac import dbfiles
    if isinstance(exc, ImportError):
        return (f"its driver ({exc.name}) is not installed; for PostgreSQL write "
                "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME (psycopg comes with `make setup`)",
                f"ドライバ（{exc.name}）がインストールされていません。PostgreSQL なら "
                "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME と書いてください（psycopg は `make setup` で入ります）")
    reason = getattr(exc, "orig", None) or exc
    # psycopg's message runs over several lines ("…failed: Connection refused / Is the server running…")
    text = "; ".join(line.strip() for line in str(reason).splitlines() if line.strip())
    if not text:
        return type(reason).__name__, "--db を確かめてください"
    # (The driver's own words, a server refusing for one, are left in English: the Japanese says where to look.)
    ja = dbfiles.in_japanese(text) or ("--db の接続先（ホスト、ポート、ユーザー名、パスワード、データベース名）と、"
                                       "データベースのサーバーが動いているかを確かめてください" if "://" in shown
                                       else "--db を確かめてください")
    return dbfiles.in_words(text), ja


def serve(args: argparse.Namespace) -> int:
    import waitress
    made: list[Path] = []
    app = _app(args.db, create=True, made=made,
               config={} if args.trusted_proxies is None else {"TRUSTED_PROXIES": args.trusted_proxies})
    from .map_page import warm_up_beside
    from evac.cli import CommandError, listen_trouble, loopback

    from evac.passwords import cheap_hashing_warning
    if warning := cheap_hashing_warning():
        print(warning, file=sys.stderr)

    from . import secret_key_path, sqlite_file
    if (database := sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])) is not None:
        from evac import dbfiles
        if warning := dbfiles.readable_by_anyone_warning(database):
            print(warning, file=sys.stderr)
    if not os.environ.get("EVAC_SECRET_KEY") and secret_key_path(app.config["SQLALCHEMY_DATABASE_URI"]) is None:
        key = (f"{os.environ['EVAC_VAR_DIR']}/hq-secret-key" if os.environ.get("EVAC_VAR_DIR")
               else f"{Path.cwd() / 'var' / 'hq-secret-key'}")
        where, where_ja = ((key, key) if os.environ.get("EVAC_VAR_DIR") else
                           (f"{key} (./var of the folder it was started from)", f"{key}（起動したフォルダの ./var）"))
        print(f"本部の秘密鍵は {where_ja} にあります。EVAC_SECRET_KEY か EVAC_VAR_DIR を設定するか、毎回同じフォルダから"
              "本部を起動してください。そうしないと、再起動したときに職員のログインと入力中のフォームが失われます / "
              f"HQ keeps its secret key in {where}: set EVAC_SECRET_KEY or EVAC_VAR_DIR, or start HQ from the "
              "same folder each time, or staff log-ins and open forms are lost at a restart", file=sys.stderr)
    # A production WSGI server: a fixed pool of threads and HTTP keep-alive, so that hundreds of
    # families asking at once queue for a thread instead of each starting one.  Waitress drops the
    # X-Forwarded-* headers unless told otherwise: behind trusted proxies HQ's ProxyFix reads them.
    try:
        server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads,
                                        connection_limit=1000, channel_timeout=60, ident="evac-hq",
                                        clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"])
    except (OSError, ValueError) as exc:  # the port is taken, or --host is no address of this machine
        # A database this run seeded is not left behind for a later start to take as HQ's own.
        _remove(made, app)
        kept = kept_ja = ""
        if made:
            kept, kept_ja = f"; the new database {made[0]} was not kept", f"（新しいデータベース {made[0]} は残していません）"
        en, ja = listen_trouble(args.host, args.port, exc)
        raise CommandError(f"{ja}{kept_ja} / {en}{kept}", 1) from None
    # EVAC_MAP_WARM_UP=0 leaves the map's layers to its first visitor, who then waits ~1.5 s: for an HQ whose
    # map nobody opens soon (the tests' hundred HQ starts, a second of CPU each on a busy machine).
    if app.config.get("MAP_WARM_UP", True):
        warm_up_beside(app)
    # Inquiries a stopped HQ had still to put back to staff (its worker held them in memory): a pass over
    # every one now, in the background, rather than after the next kiosk batch.
    from .notify import put_back_worker
    put_back_worker(app).ask(None)
    url, backend = f"http://{args.host}:{args.port}", app.config["SQLALCHEMY_DATABASE_URI"].split("://")[0]
    print(f"本部を {url} で起動しました（{backend}） / HQ serving on {url} ({backend})", file=sys.stderr, flush=True)
    if app.config["TRUSTED_PROXIES"] and not loopback(args.host):
        proxies = app.config["TRUSTED_PROXIES"]
        print(f"evac: 警告: 本部は {proxies} 台のプロキシからの X-Forwarded-For を信じますが、{args.host} で待ち受けて"
              f"います。プロキシを通らずにポート {args.port} に届く人は、どの送信元アドレスでも名乗れます（回数制限や"
              "ログインのロックも逃れられます）。プロキシの後ろでは --host 127.0.0.1 で本部を起動するか、このポートには"
              f"プロキシだけが届くようにしてください / warning: HQ believes X-Forwarded-For from {proxies} proxy(ies), "
              f"yet listens on {args.host}: anyone who reaches port {args.port} without the proxy can claim any "
              "address (and escape the rate limits and log-in lock-outs). Behind the proxy, start HQ with --host "
              "127.0.0.1, or let only the proxy reach this port", file=sys.stderr, flush=True)
    server.run()
    return 0


def init(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from .db import db
    from .models import Shelter
    app = _app(args.db, create=True)
    with app.app_context():
        shelters = db.session.execute(select(func.count()).select_from(Shelter)).scalar()
    where = _shown(app.config["SQLALCHEMY_DATABASE_URI"])
    print(f"本部のデータベースを用意しました: {where}（施設 {shelters} か所） / HQ database ready at {where} "
          f"({shelters} sites)")
    return 0


def _enrollment(args: argparse.Namespace, change):
    """Run one of hq_dashboard.enrollment's changes on HQ's database; its refusal is a one-line error."""
    from evac.cli import CommandError

    from .db import db
    from .enrollment import EnrollmentError
    app = _app(args.db)
    with app.app_context():
        try:
            return change(db.session)
        except EnrollmentError as exc:
            raise CommandError(str(exc)) from None


def enroll(args: argparse.Namespace) -> int:
    from .enrollment import enroll_kiosk
    print(_enrollment(args, lambda session: enroll_kiosk(session, args.shelter)))
    return 0


def move_kiosk(args: argparse.Namespace) -> int:
    from .enrollment import move_kiosk as move
    before, after = _enrollment(args, lambda session: move(session, args.kiosk, args.shelter))
    if before == after:
        print(f"端末 {args.kiosk} はすでに {after} の端末です。何も変更していません / kiosk {args.kiosk} already belongs "
              f"to {after}; nothing was changed")
        return 0
    print(f"端末 {args.kiosk} は {after} の端末になりました（前は {before}）。端末は次に本部から設定を受け取るときに"
          f"それを知ります / kiosk {args.kiosk} now belongs to {after} (was {before}); it hears so with its next "
          "configuration")
    return 0


def rekey_kiosk(args: argparse.Namespace) -> int:
    from .enrollment import rekey_kiosk as rekey
    print(_enrollment(args, lambda session: rekey(session, args.kiosk)))
    # (stdout is the token alone: a script writes it to the kiosk's token file)
    print(f"evac: 端末 {args.kiosk} の古いトークンは使えなくなりました。この新しいトークンを端末のトークンファイルに書き、"
          "端末を起動し直してください（動いている端末はトークンを起動時にしか読みません。端末の記録と、本部が受け取った"
          f"記録はそのままです） / kiosk {args.kiosk}'s old token no longer works; write this one to the kiosk's token "
          "file and restart the kiosk (a running kiosk reads its token only when it starts; its records and what HQ "
          "holds of them stay as they are)", file=sys.stderr)
    return 0


def retire_kiosk(args: argparse.Namespace) -> int:
    from .enrollment import retire_kiosk as retire
    shelter = _enrollment(args, lambda session: retire(session, args.kiosk).shelter_id)
    print(f"端末 {args.kiosk}（{shelter}）の登録を終了しました。この端末のトークンは使えなくなり、ダッシュボードからも"
          f"消えます。本部がこの端末から受け取った記録は残ります / kiosk {args.kiosk} (at {shelter}) is retired: its "
          "token no longer works and it is off the dashboard; what HQ holds from it stays")
    return 0


def forget_inquiries(args: argparse.Namespace) -> int:
    from .db import db
    from .retention import forget_before
    app = _app(args.db)
    with app.app_context():
        erased, waiting = forget_before(db.session, args.before)
    print(f"{args.before:%Y-%m-%d} より前の回答済みの安否照会 {erased} 件から個人情報を消去しました"
          "（照会番号・日時・続柄・回答した範囲・職員の判断は記録に残ります）。\n"
          f"erased the personal data of {erased} closed safety inquiries made before "
          f"{args.before:%Y-%m-%d} (JST); references, times, relationships, what was shown and staff's "
          "decisions stay in the audit")
    if waiting:
        print(f"職員の確認を待っている {waiting} 件はそのままです。\n"
              f"{waiting} inquiries made before then still wait for staff and were left as they are")
    return 0


def forget_preregistrations(args: argparse.Namespace) -> int:
    from .db import db
    from .retention import forget_spent_preregistrations
    app = _app(args.db)
    with app.app_context():
        erased = forget_spent_preregistrations(db.session)
    print(f"期限切れ・取り消し済みの事前登録 {erased} 件から登録内容を消去しました（登録番号と日付は残ります）。\n"
          f"erased what {erased} expired or cancelled pre-registrations held; their ids and dates stay")
    return 0


JST = dt.timezone(dt.timedelta(hours=9))


def _jst_day(text: str) -> dt.datetime:
    """argparse type: a date (YYYY-MM-DD), as the start of that day in Japan."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} は日付ではありません。YYYY-MM-DD の形で書いてください（例 "
                                         f"2026-12-31） / {text!r} is not a date: write it as YYYY-MM-DD, e.g. "
                                         "2026-12-31") from None
    jst = dt.timezone(dt.timedelta(hours=9))
    if day > dt.datetime.now(jst).date() + dt.timedelta(days=1):
        # Erasing cannot be undone: a mistyped year would erase inquiries families are still asking by.
        raise argparse.ArgumentTypeError(f"{day} は明日より後の日付です。この日より前の照会を消去する、という日を指定して"
                                         f"ください（消去は元に戻せません） / {day} is after tomorrow: give the day "
                                         "before which inquiries are erased")
    return dt.datetime.combine(day, dt.time(), jst)


def revoke(args: argparse.Namespace) -> int:
    from . import prereg
    from .db import db
    app = _app(args.db)
    with app.app_context():
        found = prereg.revoke(db.session, args.household)
        if found is None:
            print(f"evac: 事前登録の世帯 {args.household!r} はありません。登録番号を確かめてください / no pre-registered "
                  f"household {args.household!r}", file=sys.stderr)
            return 2
        revoked, before = found
    if before is not None:
        print(f"事前登録 {revoked} は {_utc_minute(before)} にすでに取り消されています。端末はこの QR を受け付けません / "
              f"{revoked} was already revoked ({_utc_minute(before)}); kiosks refuse its QR")
    elif revoked != args.household:
        print(f"事前登録 {args.household} は家族の変更で {revoked} に置き換わっていたため、今有効な {revoked} を取り消し"
              f"ました。端末は次の同期のあと、この QR を受け付けません / {args.household} was replaced by the family's "
              f"change; revoked the registration that stood, {revoked}; kiosks refuse its QR after their next sync")
    else:
        print(f"事前登録 {args.household} を取り消しました。端末は次の同期のあと、この QR を受け付けません / revoked "
              f"{args.household}; kiosks refuse its QR after their next sync")
    return 0


def rotate(args: argparse.Namespace) -> int:
    from . import prereg
    from .db import db
    app = _app(args.db)
    with app.app_context():
        kid = prereg.rotate_key(db.session, at_once=args.now)
        starts = prereg.signs_from(db.session, kid)
    print(kid)
    if starts is None:
        print(f"{kid} が今から新しい QR に署名します。まだ同期していないキオスクは、同期するまで新しい QR を読めません。\n"
              f"{kid} signs new QRs from now; kiosks that have not synced since refuse them until they do",
              file=sys.stderr)
    else:
        print(f"{kid} はキオスクの次の同期で配られ、{starts.astimezone(JST):%Y-%m-%d %H:%M} (JST) から新しい QR に"
              "署名します（それまでは今の鍵が署名します）。\n"
              f"{kid} reaches the kiosks at their next sync and signs new QRs from {starts:%Y-%m-%d %H:%M} UTC "
              "(the current key signs until then)", file=sys.stderr)
    return 0


def retire(args: argparse.Namespace) -> int:
    from . import prereg
    from .db import db
    app = _app(args.db)
    with app.app_context():
        try:
            at = prereg.retire_key(db.session, args.kid)
        except prereg.PreregError as exc:
            print(f"evac: {exc.message}", file=sys.stderr)
            return 2
    kid = args.kid.strip().lower()
    print(f"事前登録の鍵 {kid} を取り消しました（{at:%Y-%m-%d %H:%M} UTC）。端末は次の同期のあと、この鍵で署名された QR を"
          f"受け付けません / retired {kid} (at {at:%Y-%m-%d %H:%M} UTC); kiosks refuse QRs signed with it after their "
          "next sync")
    return 0


def _password_from_stdin() -> str:
    """The password's line on stdin without its line ending, "\\r\\n" too (a file saved on Windows, a PowerShell
    pipe): the kiosk's commands take it so, and a "\\r" kept in it would be a password nobody can type."""
    return sys.stdin.readline().rstrip("\r\n")


def add_staff(args: argparse.Namespace) -> int:
    from .db import db
    from .roles import LEAD, check_role
    from .staff import add_staff as create, staff_list
    try:   # before the password is asked for: nobody types one for a command that is then refused
        check_role(args.role)
    except ValueError as exc:
        ja, _, en = str(exc).partition(" / ")
        print(f"evac: {ja}。何も変更していません / {en}; nothing was changed", file=sys.stderr)
        return 2
    password = _password_from_stdin()
    app = _app(args.db)
    with app.app_context():
        try:
            create(db.session, args.username, password, args.role)
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
        no_lead = not any(user.role == LEAD and user.disabled_at is None for user in staff_list(db.session))
    name = args.username.strip()
    print(f"職員 {name}（{args.role}）は /staff/login でログインできます / staff member {name} ({args.role}) can now "
          "log in at /staff/login")
    if no_lead:   # (a script from before roles, when every account was a lead, makes desk accounts now)
        print("evac: 本部にはまだ有効な責任者（lead）がいません。安否情報の監査ログを読み、役割を与える人を決めてください: "
              "evac hq set-role NAME lead / HQ has no enabled lead yet: make the one who reads the audit log and "
              "gives roles a lead with evac hq set-role NAME lead", file=sys.stderr)
    return 0


def _change_staff(args: argparse.Namespace, change, done: tuple[str, str], password: str | None = None) -> int:
    """`done`: what was done, in Japanese and in English ({name}: the staff member's)."""
    from .db import db
    app = _app(args.db)
    with app.app_context():
        try:
            user = change(db.session, args.username, *(() if password is None else (password,)))
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
        print(_both(*(words.format(name=user.username) for words in done)))
    return 0


def disable_staff(args: argparse.Namespace) -> int:
    from .staff import disable_staff as disable
    return _change_staff(args, disable, (
        "職員 {name} を無効にしました。次の操作でログアウトされ、以後はログインできません（この職員の回答・拒否の記録には名前が"
        "残ります。元に戻すには `evac hq enable-staff`）",
        "staff member {name} is disabled: logged out at their next request and refused from now on (their reviews "
        "keep their name; `evac hq enable-staff` undoes it)"))


def enable_staff(args: argparse.Namespace) -> int:
    from .staff import enable_staff as enable
    return _change_staff(args, enable, ("職員 {name} は再び /staff/login でログインできます",
                                        "staff member {name} can log in again at /staff/login"))


def set_staff_password(args: argparse.Namespace) -> int:
    from .staff import set_password
    password = _password_from_stdin()
    return _change_staff(args, set_password, (
        "職員 {name} のパスワードを変更しました。古いパスワードでのログインはすべて終了しました",
        "password changed for {name}: their log-ins with the old one have ended"), password)


def set_staff_role(args: argparse.Namespace) -> int:
    from .db import db
    from .roles import ROLE_HELP
    from .staff import set_role
    app = _app(args.db)
    with app.app_context():
        try:
            user, before = set_role(db.session, args.username, args.role)
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
        name = user.username
        if before == args.role:
            print(f"職員 {name} の役割はすでに {args.role} です。何も変更していません / staff member {name} already "
                  f"has the role {args.role}; nothing was changed")
        else:
            print(f"職員 {name} の役割を {args.role}（{ROLE_HELP[args.role][0]}）にしました（前は {before}）。ログイン中"
                  "だった画面はすべてログアウトされ、次のログインから新しい役割の画面が開きます / staff member "
                  f"{name} now has the role {args.role} (was {before}): their log-ins have ended, and the next one "
                  "opens what the new role opens")
    return 0


def list_staff(args: argparse.Namespace) -> int:
    """HQ's staff accounts, one a line: name, role, enabled or not, made when (nothing secret)."""
    from .db import db
    from .roles import ROLE_HELP
    from .staff import staff_list
    app = _app(args.db)
    with app.app_context():
        accounts = staff_list(db.session)
        if not accounts:
            print("本部にはまだ職員のアカウントがありません。最初の一人を evac hq add-staff --role lead で追加してください"
                  " / HQ has no staff accounts yet: evac hq add-staff --role lead for the first", file=sys.stderr)
            return 0
        width = max(len(user.username) for user in accounts)
        for user in accounts:
            role = f"{user.role} ({ROLE_HELP[user.role][0]})" if user.role in ROLE_HELP else user.role
            state = ("enabled" if user.disabled_at is None
                     else f"DISABLED since {_utc_minute(user.disabled_at)}")
            print(f"{user.username:<{width}}  {role:<14}  {state}  (added {_utc_minute(user.created_at)})")
    return 0


LOCAL_HQ_URL = "http://127.0.0.1:5000"   # `evac hq serve`'s default address


def add_display(args: argparse.Namespace) -> int:
    """A wall display: its one-time link on stdout (nothing else there: a script may pass it on)."""
    from .db import db
    from .wall_display import add_display as create, display_link
    from urllib.parse import urlsplit
    base = urlsplit(args.base_url)
    if base.scheme not in ("http", "https") or not base.netloc or base.query or base.fragment:
        print(f"evac: --base-url はHQのアドレスです（例 http://10.20.0.5:5000）。何も変更していません / --base-url is HQ's "
              f"address as the wall's browser reaches it, such as http://10.20.0.5:5000, not {args.base_url!r}; "
              "nothing was changed", file=sys.stderr)
        return 2
    app = _app(args.db)
    with app.app_context():
        try:
            token = create(db.session, args.name)
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
    print(display_link(args.base_url, token))
    if args.base_url == LOCAL_HQ_URL:
        print(f"evac: 注意: このリンク（{LOCAL_HQ_URL}）はHQのこのPCのブラウザでしか開けません。壁の画面が別のPCなら、"
              "--base-url にそのPCから見たHQのアドレスを付けて作り直してください / note: this link opens only in a "
              "browser on HQ's own machine; for a screen on another PC, revoke it and add it again with --base-url "
              "set to HQ's address as that PC reaches it", file=sys.stderr)
    print(f"evac: 壁面表示「{args.name.strip()}」のリンクです。表示する画面のブラウザで一度だけ開けます / the link of wall "
          f"display {args.name.strip()!r}: open it once, in the browser of the screen that shows it (it shows the "
          "dashboard's numbers and the map, never logged out; evac hq revoke-display ends it)", file=sys.stderr)
    return 0


def list_displays(args: argparse.Namespace) -> int:
    """HQ's wall displays, one a line: name, state, made when and by whom, last seen (nothing secret)."""
    from .db import db
    from .wall_display import displays
    app = _app(args.db)
    with app.app_context():
        shown = displays(db.session)
        if not shown:
            print("evac: 壁面表示はまだありません / HQ has no wall displays: evac hq add-display --name NAME",
                  file=sys.stderr)
            return 0
        width = max(len(d.name) for d in shown)
        for d in shown:
            state = (f"取消済 REVOKED since {_utc_minute(d.revoked_at)}" if d.revoked_at is not None
                     else f"表示中 open since {_utc_minute(d.opened_at)}" if d.opened_at is not None
                     else "未使用 link not opened yet")
            seen = f", 最終 last seen {_utc_minute(d.last_seen_at)}" if d.last_seen_at is not None else ""
            print(f"{d.name:<{width}}  {state}  (追加 added {_utc_minute(d.created_at)} by {d.created_by}{seen})")
    return 0


def revoke_display(args: argparse.Namespace) -> int:
    from .db import db
    from .wall_display import AlreadyRevoked, revoke_display as revoke
    app = _app(args.db)
    with app.app_context():
        try:
            display = revoke(db.session, args.name)
        except AlreadyRevoked as done:
            at = _utc_minute(done.display.revoked_at)
            print(f"壁面表示「{done.display.name}」は {at} にすでに取り消されています / wall display "
                  f"{done.display.name} was already revoked at {at}; nothing was changed")
            return 0
        except ValueError as exc:
            print(f"evac: {exc}", file=sys.stderr)
            return 2
        print(f"壁面表示「{display.name}」を取り消しました。画面は次の更新でそう表示し、リンクはもう開けません / wall "
              f"display {display.name} is revoked: its screen says so at its next request, and its link opens nothing")
    return 0


def _utc_minute(at) -> str:
    if at.tzinfo is None:   # SQLite gives the stored UTC time back without its zone
        at = at.replace(tzinfo=dt.timezone.utc)
    return f"{at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def export_pfif(args: argparse.Namespace) -> int:
    from . import pfif_exchange
    from .db import db
    if args.out and not Path(args.out).parent.is_dir():
        from evac.cli import CommandError
        raise CommandError(f"{args.out} を書くフォルダ {Path(args.out).parent} がありません。--out を確かめてください / "
                           f"no folder {Path(args.out).parent} to write {args.out} in (check --out)")
    app = _app(args.db)
    with app.app_context():
        document, count = pfif_exchange.export(db.session, args.domain)
    if args.out:
        from evac.cli import write_whole
        write_whole(Path(args.out), document)
    else:
        sys.stdout.buffer.write(document)
    print(f"公開に同意した人の記録 {count} 件を書き出しました / exported {count} person record(s) with public consent",
          file=sys.stderr)
    return 0


def import_pfif(args: argparse.Namespace) -> int:
    from evac.pfif import InvalidPFIF

    from . import pfif_exchange
    from .db import db
    try:
        document = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"evac: {args.file} を読めません（{exc.strerror}） / cannot read {args.file}: {exc.strerror}",
              file=sys.stderr)
        return 2
    app = _app(args.db)
    with app.app_context():
        try:
            summary = pfif_exchange.import_document(db.session, document, args.domain)
        except InvalidPFIF as exc:
            print(f"evac: {args.file} は正しい PFIF 1.4 ではありません。何も取り込んでいません / {args.file} is not "
                  "valid PFIF 1.4, nothing was imported:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 2
    print(f"追加 {summary.added} 件、更新 {summary.updated} 件、取り込まなかった記録 {len(summary.skipped)} 件 / "
          f"added {summary.added}, updated {summary.updated}, skipped {len(summary.skipped)}")
    for reason in summary.skipped:   # (pfif_exchange's reasons, Japanese first)
        print(f"  {reason}")
    return 0


def import_records(args: argparse.Namespace) -> int:
    """A kiosk's records carried by hand (evac kiosk carry): applied as its sync would apply them."""
    from evac.carried import MAX_FILE_BYTES
    from evac.cli import CommandError

    from .carried import CarriedRefused, apply_carried
    from .db import db
    try:
        if Path(args.file).stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{args.file} は端末の記録ファイルにしては大きすぎます。正しいファイルか確かめてください / "
                               f"{args.file} is larger than a kiosk's records can be: is it the right file?")
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"{args.file} を読めません（{exc.strerror or exc}） / cannot read {args.file}: "
                           f"{exc.strerror or exc}") from None
    app = _app(args.db)
    with app.app_context():
        try:
            result = apply_carried(db.session, data, args.token)
        except CarriedRefused as exc:
            if exc.applied:   # what was applied answers inquiries all the same
                _after_carried(app)
            raise CommandError(_both(_carried_ja(app, exc, args.file), f"{args.file}: {exc.message}")) from None
        if result.applied:
            _after_carried(app)
    print(f"端末 {result.kiosk_id}（{result.shelter_id} で登録）の記録を取り込みました。ファイルの記録 {result.records} 件"
          f"のうち、本部に新しく入ったのは {result.applied} 件、本部にすでにあったのは {result.duplicates} 件です。本部は"
          f"この端末の記録を {result.acked_seq} 番まで受け取っています / kiosk {result.kiosk_id} (enrolled at "
          f"{result.shelter_id}): {result.records} record(s) in the file, {result.applied} new at HQ, "
          f"{result.duplicates} HQ already held; HQ now holds up to record {result.acked_seq} of this kiosk")
    return 0


def _carried_ja(app, exc, file: str) -> str:
    """The refusal of a carried file as HQ's page says it in Japanese (carried_pages), or "" where the page
    has no words of its own for it."""
    from .carried_pages import refusal
    with app.test_request_context("/?lang=ja"):   # (the page's words are chosen by the request's language)
        said = refusal(exc)
    return "" if said == exc.message else f"{file}: {said}"


def _after_carried(app) -> None:
    """Inquiries the carried records answer go back to staff, and news goes out, before this command ends."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import notify, safety
    from .db import db
    try:
        safety.put_back_found(db.session)
    except (SQLAlchemyError, ValueError) as exc:   # the records are applied already: never a traceback for them
        db.session.rollback()
        # (nothing logs it in this command: the reason's first line is said, not "see HQ's log")
        why = (str(getattr(exc, "orig", None) or exc) or type(exc).__name__).splitlines()[0][:200]
        print(f"evac: 警告: 記録は取り込みましたが、その記録に関わる家族からの安否照会の一部を職員の確認待ちに戻せません"
              f"でした（{why}）。取り込みをもう一度実行するか（何度実行しても安全です）、本部を再起動してください（本部は"
              f"起動時にすべての照会を確かめます） / warning: the records were applied, but the family inquiries they "
              f"answer were not all put back to staff ({why}); run the import again, which is safe, or restart HQ, "
              "which looks at every inquiry when it starts", file=sys.stderr)
    if notify.enabled(app):
        notify.send_due(app, db.session)


def import_(args: argparse.Namespace) -> int:
    from evac.opendata import ImportFormatError
    from .db import db
    from .importing import import_file
    if Path(args.path).is_dir():
        from evac.cli import CommandError
        raise CommandError(f"{args.path} はフォルダです。ファイルを1つ指定してください（避難所の一覧 .csv、またはハザードの"
                           "区域 .geojson、.shp、それを入れた .zip） / "
                           f"{args.path} is a folder: give one file, a site list (.csv) or a hazard layer "
                           "(.geojson, .shp, or a .zip holding one)")
    app = _app(args.db)
    with app.app_context():
        try:
            summary = import_file(db.session, args.path, area_per_person_m2=app.config["AREA_PER_PERSON_M2"],
                                  hazard=args.hazard, title=args.title, credit=args.credit,
                                  progress=not args.quiet, add_unmatched=args.add_unmatched)
        except (ImportFormatError, ValueError) as exc:
            ja = getattr(exc, "ja", "")   # (importing's, evac.opendata's and evac.geodata's refusals carry it)
            print(f"evac: 取り込みを中止しました。何も変更していません{'。' + ja if ja else ''} / import refused, "
                  f"nothing was changed: {exc}", file=sys.stderr)
            return 2
    for line in summary.lines():
        print(line)
    return 0


def check_occupancy(args: argparse.Namespace) -> int:
    """Each site's counters against a recount of where everyone is now; --repair sets them to it."""
    from .db import db
    from .occupancy_check import check
    app = _app(args.db)
    with app.app_context():
        findings = check(db.engine, repair=args.repair)
    for line in findings.lines():
        print(line)
    return 0 if findings.agree or (findings.repaired and not findings.unplaced) else 1


def _proxy_count(text: str) -> int:
    """argparse type of --trusted-proxies: 0 (HQ faces the clients itself) or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} はプロキシの数ではありません（0、1、2…） / {text!r} is not a number "
                                         "of proxies (0, 1, 2…)")
    return int(text)


# Commands whose change is one transaction: a database too busy to take it has taken nothing of it.
ONE_CHANGE = frozenset({"enroll-kiosk", "move-kiosk", "rekey-kiosk", "retire-kiosk", "add-staff", "disable-staff",
                        "enable-staff", "set-password", "set-role", "add-display", "revoke-display", "revoke-prereg",
                        "rotate-prereg-key", "retire-prereg-key"})


def _busy_said(command, name: str):
    """Another process writing HQ's SQLite file for longer than HQ waits (SQLite's busy timeout,
    EVAC_SQLITE_BUSY_TIMEOUT_SECONDS, 30 s by default: a long `evac hq import`, a second HQ on the same file)
    is said in words, not as sqlalchemy's traceback."""
    import functools

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from evac.cli import CommandError
        try:
            return command(args)
        except Exception as exc:
            if not _is_busy(exc):
                raise
            said, said_ja = (("nothing was changed; try again", "何も変更していません。もう一度実行してください")
                             if name in ONE_CHANGE else
                             ("try again once the other process is done", "その処理が終わってからもう一度実行してください"))
            raise CommandError(f"本部のデータベースは別の処理が書き込み中です。{said_ja} / HQ's database is busy "
                               f"(another process is writing); {said}", 1) from None
    return run


def _is_busy(exc: BaseException) -> bool:
    import sqlite3

    from .db import is_busy
    return is_busy(exc) or (isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc))


def register(parser: argparse.ArgumentParser) -> None:
    from evac.cli import port_number, positive_int
    sub = parser.add_subparsers(dest="command", required=True)
    _register(sub, port_number, positive_int)
    for name, command in sub.choices.items():
        command.set_defaults(func=_busy_said(command.get_default("func"), name))


def _register(sub, port_number, positive_int) -> None:
    p = sub.add_parser("serve", help="run HQ; a new or empty database is made and seeded with Yaizu's shelters")
    p.add_argument("--db", help="database URL (sqlite:///…, postgresql+psycopg://…) or a SQLite file path")
    p.add_argument("--port", type=port_number, default=5000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--threads", type=positive_int, default=16, help="request threads")
    p.add_argument("--trusted-proxies", type=_proxy_count, default=None, metavar="N",
                   help="reverse proxies in front of HQ whose X-Forwarded-For is believed for the client's "
                        "address (rate limits); default 0, or $EVAC_TRUSTED_PROXIES")
    p.set_defaults(func=serve)
    p = sub.add_parser("init", help="make HQ's database (or bring it up to date) and seed Yaizu's shelters")
    p.add_argument("--db", help="database URL (sqlite:///…, postgresql+psycopg://…) or a SQLite file path")
    p.set_defaults(func=init)
    p = sub.add_parser("enroll-kiosk", help="enroll a kiosk at a shelter and print its token")
    p.add_argument("--db")
    p.add_argument("--shelter", required=True)
    p.set_defaults(func=enroll)
    p = sub.add_parser("move-kiosk", help="a kiosk carried to another shelter now belongs there")
    p.add_argument("--db")
    p.add_argument("kiosk", help="the kiosk's id (the part of its token before the dot)")
    p.add_argument("--shelter", required=True)
    p.set_defaults(func=move_kiosk)
    p = sub.add_parser("rekey-kiosk", help="give an enrolled kiosk a new token (the old one stops working)")
    p.add_argument("--db")
    p.add_argument("kiosk", help="the kiosk's id (the part of its token before the dot)")
    p.set_defaults(func=rekey_kiosk)
    p = sub.add_parser("retire-kiosk", help="retire a kiosk whose database was replaced or whose machine is gone "
                                            "(its token stops working; it leaves the dashboard)")
    p.add_argument("--db")
    p.add_argument("kiosk", help="the kiosk's id (the part of its token before the dot)")
    p.set_defaults(func=retire_kiosk)
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
    p.add_argument("--add-unmatched", action="store_true",
                   help="add a national list's (GSI's) sites that name no site HQ has (by default listed as skipped)")
    p.set_defaults(func=import_)
    p = sub.add_parser("rotate-prereg-key", help="sign new QRs with a new key a day from now, once kiosks have it "
                                                 "(old QRs stay valid)")
    p.add_argument("--db")
    p.add_argument("--now", action="store_true",
                   help="sign with the new key at once (the old key leaked): kiosks not synced since refuse new QRs")
    p.set_defaults(func=rotate)
    p = sub.add_parser("retire-prereg-key", help="stop trusting a QR signing key (kiosks refuse its QRs after their next sync)")
    p.add_argument("--db")
    p.add_argument("kid", help="the key's id, as rotate-prereg-key printed it")
    p.set_defaults(func=retire)
    from .roles import DESK, ROLES, roles_in_words
    roles_said = roles_in_words()
    p = sub.add_parser("add-staff", help="add an HQ staff member (dashboard, and by role safety inquiries); "
                                         "password on stdin")
    p.add_argument("--db")
    p.add_argument("--username", required=True)
    # The least by default (災対法 §86-15): safety information only for whom the city names (--role).
    p.add_argument("--role", default=DESK, metavar="|".join(ROLES),
                   help=f"what the account opens (default: {DESK}, the least; name lead or safety for "
                        f"more). {roles_said}")
    p.set_defaults(func=add_staff)
    p = sub.add_parser("list-staff", help="HQ's staff accounts: name, role, enabled or disabled, added when")
    p.add_argument("--db")
    p.set_defaults(func=list_staff)
    p = sub.add_parser("set-role", help="give an HQ staff member another role (lead|safety|desk); logs them out")
    p.add_argument("--db")
    p.add_argument("username", metavar="NAME", help="the staff member's log-in name")
    p.add_argument("role", metavar="ROLE", help=roles_said)
    p.set_defaults(func=set_staff_role)
    for name, func, help_text in (
            ("disable-staff", disable_staff, "stop an HQ staff member logging in; logs them out (records stay)"),
            ("enable-staff", enable_staff, "let a disabled HQ staff member log in again"),
            ("set-password", set_staff_password, "give an HQ staff member a new password (on stdin); logs them out")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--db")
        p.add_argument("--username", required=True)
        p.set_defaults(func=func)
    p = sub.add_parser("add-display", help="a wall screen for HQ's dashboard numbers and map, never logged out "
                                           "(not a staff account); prints its one-time link")
    p.add_argument("--db")
    p.add_argument("--name", required=True, help="the display's name, e.g. the screen's place (hq-wall)")
    p.add_argument("--base-url", default=LOCAL_HQ_URL, help="HQ's address as the wall's browser reaches "
                                                                       "it (default: %(default)s)")
    p.set_defaults(func=add_display)
    p = sub.add_parser("list-displays", help="HQ's wall displays: name, open or revoked, added when, last seen")
    p.add_argument("--db")
    p.set_defaults(func=list_displays)
    p = sub.add_parser("revoke-display", help="end a wall display (its screen says so at its next request)")
    p.add_argument("--db")
    p.add_argument("--name", required=True)
    p.set_defaults(func=revoke_display)
    p = sub.add_parser("forget-inquiries", help="erase who asked about whom in closed safety inquiries made before "
                                                "a date (the audit keeps when, the relationship and what was shown)")
    p.add_argument("--db")
    p.add_argument("--before", type=_jst_day, required=True, metavar="YYYY-MM-DD",
                   help="inquiries made before this day (JST) are erased; those still waiting for staff never")
    p.set_defaults(func=forget_inquiries)
    p = sub.add_parser("forget-preregistrations", help="erase what expired or cancelled pre-registrations hold "
                                                       "(names, needs, phone, family code); ids and dates stay")
    p.add_argument("--db")
    p.set_defaults(func=forget_preregistrations)
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
    p = sub.add_parser("import-records", help="a kiosk's records carried by hand (evac kiosk carry), applied as a sync")
    p.add_argument("--db")
    p.add_argument("--token", help="the kiosk's token, for a file that holds none (or one HQ does not take)")
    p.add_argument("file")
    p.set_defaults(func=import_records)
    p = sub.add_parser("check-occupancy", help="recount every site's occupancy from where everyone is now and "
                                               "compare with HQ's counts (exit 1 when some differ)")
    p.add_argument("--db")
    p.add_argument("--repair", action="store_true", help="set the counts that differ to the recount")
    p.set_defaults(func=check_occupancy)
