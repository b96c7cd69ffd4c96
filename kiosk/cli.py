"""`evac kiosk …`: scripted check-in and check-out (paper forms after a power cut), sync, serve."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import os
import re
import sqlite3
import stat
import sys
import unicodedata
from pathlib import Path

from evac import dbfiles
from evac.kiosk_token import KIOSK_ID_RE, SECRET_LEN, TOKEN_RE
from evac.cli import CommandError, loopback
from evac.dates import InTheFuture, NoSuchDay, NotADate, TooLongAgo, parse_typed_birth_date
from evac.identity import normalize_name
from evac.individual_number import (NOT_SHOWN_EN, NOT_SHOWN_JA, contains_individual_number, not_shown,
                                    without_individual_numbers)
from evac.events import (CONSENTS, EARLIEST_TODAY, FAMILY_CODE_LEN, SEXES, STAY_TYPES, WITHDRAWN, InvalidEvent, Person,
                         parse_event, parse_person)

from . import disk_failure
from .input_checks import in_letters, reads_as_kana
from .store import CLI, HQ_OUTDATED, KioskError, KioskStore, acting_as
from .sync import SYNC_TIMEOUT


def _fail(message: str) -> int:
    print(f"evac: {_no_number_shown(message)}", file=sys.stderr)
    return 2


# 番号法 §20: a value typed where it does not belong is not repeated on the console when it holds what looks
# like an Individual Number (--birth 123456789018, --shelter 1234-5678-9018): the console is read by others
# at a shelter, and may be kept.  The option is still named, so the operator knows what to correct.


def _typed(value: str) -> tuple[str, str]:
    """`value` quoted as a refusal shows it, (Japanese, English): or that it is not shown."""
    return (NOT_SHOWN_JA, NOT_SHOWN_EN) if contains_individual_number(value) else (repr(value), repr(value))


def _no_number_shown(message: str) -> str:
    """A whole message to print, "日本語 / English": a quoted value holding the number said not to be
    shown in each half, and any other digits of the number starred out (what a message of the store or
    of argparse repeats unquoted)."""
    if not contains_individual_number(message):
        return message
    ja, slash, en = message.partition(" / ")
    if not slash:
        ja, en = "", ja
    return f"{not_shown(ja, NOT_SHOWN_JA) if ja else ja}{slash}{not_shown(en, NOT_SHOWN_EN)}"


TOKEN_ENV = "EVAC_KIOSK_TOKEN"


def _token(args: argparse.Namespace) -> tuple[str | None, str]:
    """This kiosk's HQ token and where it came from: --token-file, --token, or the environment
    (EVAC_KIOSK_TOKEN).  A token on the command line is seen by anyone on the machine (`ps`); a file
    only its owner reads, or the environment, is not.  Raises CommandError in words."""
    if args.token and args.token_file:
        raise CommandError(_both("トークンは --token-file か --token のどちらか一方で指定してください",
                                 "give the token one way: --token-file or --token, not both"))
    if args.token_file:
        source = f"--token-file {args.token_file}"
        return _checked_token(_token_from_file(args.token_file), source), source
    if args.token:
        return _checked_token(_cleaned(args.token), "--token"), "--token"
    token = _cleaned(os.environ.get(TOKEN_ENV) or "")
    return (_checked_token(token, TOKEN_ENV) if token else None), TOKEN_ENV


def _cleaned(text: str) -> str:
    """The token as typed or saved: Windows Notepad's byte-order mark dropped, and full-width letters and
    digits (a Japanese input method's) made the ASCII ones they stand for.  Sent as it was, HQ could not
    even be asked (an HTTP header is Latin-1), and the kiosk said "HQ cannot be reached" for ever."""
    return unicodedata.normalize("NFKC", text.replace("\ufeff", "")).strip()


def _checked_token(token: str, source: str) -> str:
    """Refuses, in words naming where it came from, what is not a token as HQ prints them: found here, not
    as a failed sync, or at HQ only once a carried file holding it got there."""
    if TOKEN_RE.match(token):   # as HQ makes them (evac.kiosk_token)
        return token
    odd = next((c for c in token if not (c.isascii() and (c.isalnum() or c in "._-"))), None)
    if odd is not None:
        why = f"it holds {odd!r} (U+{ord(odd):04X}), which no token has"
        why_ja = f"トークンにない文字 {odd!r}（U+{ord(odd):04X}）が入っています"
    elif "." not in token:
        why, why_ja = "it has no dot between the kiosk's id and its secret", "端末IDと秘密の間の「.」がありません"
    else:
        kiosk_id, _, secret = token.partition(".")
        shown_ja, shown_en = _typed(kiosk_id)
        why, why_ja = ((f"{shown_en} is not a kiosk id (K and 8 digits or letters A-F, as on HQ's dashboard)",
                        f"{shown_ja} は端末ID（本部の画面のとおり、K と 8 文字の数字か A〜F）ではありません")
                       if not KIOSK_ID_RE.match(kiosk_id) else
                       (f"its secret after the dot is {len(secret)} characters long, not {SECRET_LEN} (cut short "
                        "when copied?)",
                        f"「.」の後の秘密が {len(secret)} 文字で、{SECRET_LEN} 文字ではありません（写すときに切れましたか）")
                       if len(secret) < SECRET_LEN else
                       ("its secret after the dot holds more than one dot", "「.」の後の秘密にも「.」があります"))
    raise CommandError(_both(f"{source} のトークンは、`evac hq enroll-kiosk` が表示する端末のトークン（K1234ABCD. と"
                             f"英数字・-・_ の 43 文字）ではありません。{why_ja}。本部から受け取ったとおりに写し直すか、"
                             "本部に新しいトークンを頼んでください（evac hq rekey-kiosk）",
                             f"the token from {source} is not a kiosk token as `evac hq enroll-kiosk` prints it "
                             f"(K1234ABCD. and 43 letters, digits, - or _): {why}. Copy it again as HQ gave it, or ask "
                             "HQ for a new one (evac hq rekey-kiosk)"))


def _token_from_file(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text(encoding="utf-8-sig")   # -sig: a byte-order mark (Notepad's) is not the token's
    except FileNotFoundError:
        raise CommandError(_both(f"トークンファイル {path} がありません。--token-file を確かめてください",
                                 f"the token file {path} does not exist (--token-file)")) from None
    except IsADirectoryError:
        raise CommandError(_both(f"{path} はフォルダです。--token-file にはトークンを書いたファイルを指定してください",
                                 f"{path} is a folder: --token-file names the file holding the token")) from None
    except UnicodeDecodeError:
        raise CommandError(_both(f"トークンファイル {path} はテキストではありません。トークンだけを書いてください",
                                 f"the token file {path} is not text: it must hold the token alone")) from None
    except OSError as exc:
        raise CommandError(_both(f"トークンファイル {path} を読めません（{exc.strerror or exc}）",
                                 f"cannot read the token file {path}: {exc.strerror or exc}")) from None
    if mode & stat.S_IROTH:
        raise CommandError(_both(f"トークンファイル {path} はこのマシンの誰でも読めます。所有者だけが読めるようにし"
                                 f"（chmod 600 {path}）、ほかの人が読んだかもしれなければ本部に新しいトークンを頼んで"
                                 "ください（evac hq rekey-kiosk）",
                                 f"the token file {path} can be read by anyone on this machine: make it readable by "
                                 f"its owner only (chmod 600 {path}), and if others may have read it, ask HQ for a new "
                                 "token (evac hq rekey-kiosk)"))
    token = _cleaned(text)
    if not token:
        raise CommandError(_both(f"トークンファイル {path} が空です。`evac hq enroll-kiosk` が表示したトークンを書いてください",
                                 f"the token file {path} is empty: put the token `evac hq enroll-kiosk` printed in it"))
    if len(token.split()) != 1:
        raise CommandError(_both(f"トークンファイル {path} にはトークンだけを 1 行で書いてください",
                                 f"the token file {path} must hold the token alone, on one line"))
    return token


def _refusals_said(command):
    """A command that writes to the kiosk: what it refuses (bad input, the kiosk's rules) and a disk that
    refuses the write are said in one line, exit 2; nothing of the action was saved."""
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except InvalidEvent as exc:
            return _fail(_invalid_in_words(exc))
        except KioskError as exc:
            return _fail(_kiosk_refused(exc, saving=True))
        except sqlite3.Error as exc:
            if disk_failure.cause(exc) == disk_failure.DAMAGED and getattr(args, "db", None):
                return _fail(_damaged(args.db, saving=True))
            return _fail(_disk_refused(exc, getattr(args, "db", None)))
    return run


# disk_failure.EXPLANATIONS says these in English (for programs); the others there are Japanese first already.
_KEEP_THE_DATABASE_JA = ("kiosk.sqlite3、kiosk.sqlite3-wal、kiosk.sqlite3-shm は記録なので絶対に消さないでください。"
                         "空きは写真・動画・ログ・ダウンロードを消して作ってください")
_EXPLANATIONS_JA = {
    disk_failure.FULL: "受付機のディスクがいっぱいのため、何も保存していません。避難者カード（紙）に書いてもらい、"
                       f"空きができてから入力してください。{_KEEP_THE_DATABASE_JA}",
    disk_failure.BUSY: "受付機のデータベースが長く使用中だったため、何も保存していません。少し待ってからもう一度実行してください",
    disk_failure.FAILED: "受付機がディスクに書き込めなかったため（いっぱいか故障）、何も保存していません。避難者カード（紙）に"
                         f"書いてもらい、本部に連絡してください。{_KEEP_THE_DATABASE_JA}",
}


def _disk_refused(exc: sqlite3.Error, path: str | None) -> str:
    why = disk_failure.cause(exc, path)
    en = disk_failure.EXPLANATIONS[why]
    return _both(_EXPLANATIONS_JA[why], en) if why in _EXPLANATIONS_JA else en


def _damaged(path: str, saving: bool = False) -> str:
    """disk_failure.damaged_in_words, Japanese first; `saving`: the command was to save a record."""
    ja = (f"端末のデータベース（{path}）が壊れています（カードの故障か停電）。"
          + (f"{NOTHING_SAVED_JA}。" if saving else "") +
          f"ファイルは消さずに残してください。まだ読める記録は `evac kiosk carry --db {path} --out FILE --all` で"
          "本部へ運び、新しいデータベース（良いディスクの別の --db）で端末を起動して、本部で登録し直してください"
          "（`evac hq enroll-kiosk`、新しいトークン）。その間は避難者カード（紙）で受け付けてください")
    en = disk_failure.damaged_in_words(path)
    return _both(ja, f"{en}; nothing was saved" if saving else en)


class DamagedKiosk(CommandError):
    """The kiosk database is corrupt (disk_failure.damaged_in_words says what to do)."""

    def __init__(self, path: str, saving: bool = False):
        super().__init__(_damaged(path, saving))


def _store(path: str, may_create: bool = False, saving: bool = False) -> KioskStore:
    """The kiosk's database, refused in words if --db names a typo, another kind of file or one
    SQLite cannot open.  Only the commands that start a kiosk may make a new file.  `saving`: the
    command was to save a record (a paper form's), and the refusal says none was."""
    with _opening(path, "open", saving):
        dbfiles.check(path, dbfiles.KIOSK, may_create, "`evac kiosk serve` or `evac kiosk checkin`")
        return KioskStore(path)


def _read_store(path: str) -> KioskStore:
    """The kiosk's database for reading only: also from a disk that became read-only."""
    with _opening(path, "read"):
        dbfiles.check(path, dbfiles.KIOSK, False, "`evac kiosk serve`", read_only=True)
        return KioskStore.read_only(path)


@contextlib.contextmanager
def _opening(path: str, verb: str, saving: bool = False):
    """What opening the kiosk's database can meet, said as one line for the operator: Japanese first,
    then English, as HQ's commands say evac.dbfiles' refusals."""
    try:
        yield
    except dbfiles.DamagedDatabase:
        raise DamagedKiosk(path, saving) from None
    except dbfiles.DatabaseFileError as exc:
        raise CommandError(_file_refused(exc.ja, str(exc), saving)) from None
    except (sqlite3.Error, OSError) as exc:
        if isinstance(exc, sqlite3.Error) and disk_failure.cause(exc) == disk_failure.DAMAGED:
            raise DamagedKiosk(path, saving) from None
        ja = f"端末のデータベース（{path}）を開けません。{dbfiles.in_japanese(exc, path) or '--db を確かめてください'}"
        raise CommandError(_file_refused(ja, f"cannot {verb} the kiosk database at {path}: "
                                             f"{dbfiles.in_words(exc, path)}", saving)) from None


def _file_refused(ja: str, en: str, saving: bool) -> str:
    if saving:
        ja, en = f"{ja.rstrip('。')}。{NOTHING_SAVED_JA}", f"{en}; nothing was saved"
    return _both(ja, en) if ja else en


def _both(ja: str, en: str) -> str:
    """A refusal as staff typing paper forms read it: Japanese first, then the English (as HQ's commands)."""
    return f"{ja} / {en}"


# What a KioskError's `about` is, as this command line's options name it: (Japanese, English) added to its words.
_CORRECT = {"name": ("。--name を確かめてください", "; check --name"),
            "role": ("。--role を確かめてください", "; check --role"),
            "password": ("。別のパスワードを標準入力（stdin）で渡してください", ": give another on stdin"),
            "seq": ("。--seq を確かめてください", "; check --seq")}


def _kiosk_refused(exc: KioskError, saving: bool) -> str:
    """A refusal from the kiosk's store (staff accounts, withdraw, the tablets' certificate) in both languages
    where it has its Japanese, naming the option to correct."""
    if not exc.ja:   # said already as it must be (checkin's own refusals are both languages in one)
        return str(exc)
    ja, en = exc.ja, str(exc)
    if exc.about in _CORRECT:
        ja, en = ja + _CORRECT[exc.about][0], en + _CORRECT[exc.about][1]
    return _file_refused(ja, en, saving)


NOTHING_SAVED_JA = "何も保存していません"


@_refusals_said
def checkin(args: argparse.Namespace) -> int:
    # A kiosk database that exists knows the date its clock has reached (not a reset RTC's); a new
    # one is made only once the input is good, and said so (a mistyped --db puts paper forms into a
    # stray file nobody serves or syncs: the operator must notice).
    made = dbfiles.absent_or_empty(args.db)
    was_empty = made and Path(args.db).exists()
    store = None if made else _store(args.db, saving=True)
    today = store.today() if store else _today()
    person = parse_person({"name": _named(args.name), "birth_date": _birth(args.birth, today), "sex": args.sex,
                           "address": args.address, "name_kana": args.kana or ""}, today.toordinal())
    if not in_letters(person.name):
        raise KioskError(_both(f"--name {person.name!r} には文字がありません（絵文字や記号だけでは名前になりません）。"
                               f"用紙に書かれた名前を文字で入力してください。{NOTHING_SAVED_JA}",
                               f"--name {person.name!r} has no letters in it (emoji or symbols alone are no one's "
                               "name): type the name as written on the form, in letters; nothing was saved"))
    if person.name_kana and not reads_as_kana(person.name_kana):
        raise KioskError(_both(f"--kana {person.name_kana!r} はふりがなとして読めません。用紙のとおりかなで、外国の名前は"
                               f"ローマ字で入力してください。{NOTHING_SAVED_JA}",
                               f"--kana {person.name_kana!r} is not a reading: type it in kana as written on the form, "
                               "or in Latin letters for a foreign name; nothing was saved"))
    if args.family_code and not in_letters(args.family_code):
        raise KioskError(_both("--family-code に文字も数字もありません（家族が口で言えるものにしてください）。"
                               f"{NOTHING_SAVED_JA}",
                               "--family-code has no letters or digits in it (a relative must be able to say it): "
                               "nothing was saved"))
    disclosure = args.consent or ("family" if args.family_code else None)
    if disclosure == "family" and not args.family_code:
        raise KioskError(_both("家族への開示（--consent family）には、家族が問い合わせのときに言う合言葉（--family-code）"
                               f"が要ります。{NOTHING_SAVED_JA}",
                               "consent for the family needs a family code (--family-code), the code they will give "
                               "when they ask; nothing was saved"))
    _known_shelter(args.shelter, store.shelter_ids() if store else KioskStore.bundled_shelter_ids(), "--shelter")
    if store is not None and not args.even_if_elsewhere:
        _this_kiosks(store, args.shelter)
    if store is not None and not args.even_if_closed:
        _not_closed(store, args.shelter)
    _by(args)   # refused before a new database is made
    if store is None:
        # What the check-in's records themselves are refused for (a family code without family consent), said
        # before a new database is made: none is made for a refused form, and none that another command made
        # meanwhile (two staff typing into a new kiosk's --db) is ever taken back.
        for seq, draft in enumerate(_check_in_drafts(args, person, disclosure), 1):
            parse_event({**draft, "kiosk_id": "kiosk-new", "seq": seq, "hlc": 1})
        store = _store(args.db, may_create=True, saving=True)
    event = _checked_in(store, args, person, disclosure)
    print(_both(f"受付しました: {person.name}（{args.shelter}、記録 {event.seq} 番。この端末に保存しました）",
                f"checked in: {person.name} at {args.shelter} (event {event.seq}, saved on this kiosk)"))
    if made:
        # Said Japanese first: the operator typing paper forms must notice a mistyped --db.
        said_ja = f"端末のデータベースを {args.db} に新しく作りました。この端末は --db {args.db} で起動・同期してください"
        said = f"a new kiosk database was made at {args.db}: serve and sync the kiosk with --db {args.db}"
        if args.new:
            print(_both(said_ja, said))
        elif was_empty:
            print(_was_an_empty_file(args.db, said_ja, said), file=sys.stderr)
        else:
            print(f"evac: 注意: {args.db} に端末のデータベースはありませんでした。{said_ja}（既存の端末のデータベースの"
                  "つもりなら --db を確かめてください。この記録は新しいファイルに入っています） / note: there was no "
                  f"kiosk database at {args.db}; {said} (if you meant an existing kiosk's database, check --db: "
                  "these records are in the new file)", file=sys.stderr)
    return 0


def _check_in_drafts(args: argparse.Namespace, person: Person, disclosure: str | None) -> list[dict]:
    return KioskStore.check_in_drafts(args.shelter, [person], args.stay_type, disclosure=disclosure,
                                      family_code=args.family_code or "", never_disclose=args.never_disclose)


def _checked_in(store: KioskStore, args: argparse.Namespace, person: Person, disclosure: str | None):
    with _typed_by(args):
        event, *_ = store.check_in(args.shelter, [person], args.stay_type, disclosure=disclosure,
                                   family_code=args.family_code or "", never_disclose=args.never_disclose)
    return event


def _today() -> dt.date:
    """The date birth dates are checked against without a kiosk database: the machine's (in UTC, as HQ
    counts days), never before this release's day (evac.events)."""
    return max(dt.datetime.now(dt.timezone.utc).date(), EARLIEST_TODAY)


def _known_shelter(shelter: str, known: set[str], option: str) -> None:
    if shelter not in known:
        raise KioskError(_unknown_shelter(shelter, option, nothing_saved=True))


def _unknown_shelter(shelter: str, option: str, nothing_saved: bool = False) -> str:
    """`nothing_saved`: for a command that was to save a record, it says that none was."""
    shown_ja, shown_en = _typed(shelter)
    ja = (f"避難所ID {shown_ja} はこの受付機の避難所一覧にありません。{option} を確かめてください"
          "（H031、E005、T101 のような形です）")
    en = f"unknown shelter id {shown_en} (check {option}: site ids look like H031, E005 or T101)"
    if nothing_saved:
        ja, en = f"{ja}。{NOTHING_SAVED_JA}", f"{en}; nothing was saved"
    return _both(ja, en)


def _was_an_empty_file(db: str, said_ja: str = "", said_en: str = "") -> str:
    """The note of a command that made a kiosk database in an empty file (`said_*`: what it says of the new one)."""
    return (f"evac: 注意: {db} は空のファイルで、まだ端末のデータベースではありませんでした{'。' + said_ja if said_ja else ''}"
            "（この端末に記録があったはずなら、故障しかけたカードの停電で空になることがあります。本部に連絡してください） / "
            f"note: the file at {db} was empty, not yet a kiosk database{'; ' + said_en if said_en else ''} (if this "
            "kiosk held records before, a power cut on a failing card can empty its file: call HQ)")


def _this_kiosks(store: KioskStore, shelter: str) -> None:
    """A paper form is typed in at its shelter's kiosk: a --shelter this kiosk was neither enrolled at nor has
    checked anyone in at is a slip far more often than a form carried from elsewhere, and it would count the
    person there, and open that shelter on HQ's public map.  A new kiosk, with neither, takes any."""
    enrolled, checked = store.enrolled_shelter(), sorted(store.checked_in_at())
    if (not enrolled and not checked) or shelter == enrolled or shelter in checked:
        return
    said_ja = "、".join(([f"本部の登録は {enrolled}"] if enrolled else [])
                       + ([f"この受付機のチェックインは {'・'.join(checked)}"] if checked else []))
    said_en = "; ".join(([f"HQ enrolled it at {enrolled}"] if enrolled else [])
                        + ([f"it has checked people in at {', '.join(checked)}"] if checked else []))
    raise KioskError(_both(f"避難所 {shelter} はこの受付機の避難所ではありません（{said_ja}）。--shelter を確かめてください。"
                           f"{NOTHING_SAVED_JA}。ほかの避難所の用紙をこの受付機で入力するときは、同じコマンドに "
                           "--even-if-elsewhere を付けて実行してください",
                           f"shelter {shelter} is not this kiosk's ({said_en}): check --shelter; nothing was saved. "
                           "To enter another shelter's paper form here, run the same command with --even-if-elsewhere"))


def _not_closed(store: KioskStore, shelter: str) -> None:
    """A shelter its staff closed on the tablet checks no one in (as its screen and JSON API): a paper form
    typed in after a power failure may be from before it closed, so the operator says so to enter it."""
    from .staff_store import closed_by_staff
    if closed_by_staff(store, shelter):
        raise KioskError(_both(f"避難所 {shelter} は閉鎖されています（この受付機のタブレットで職員が閉鎖しました）。ここには"
                               f"チェックインできません。{NOTHING_SAVED_JA}。閉鎖の前に書かれた用紙なら、同じコマンドに "
                               "--even-if-closed を付けて実行してください",
                               f"shelter {shelter} is closed (its staff closed it on this kiosk's tablet), so no one "
                               "is checked in there; nothing was saved. If this paper form was filled in before it "
                               "closed, run the same command with --even-if-closed"))


def _typed_by(args: argparse.Namespace):
    """Records typed here are the command line's (kept on this kiosk, event_staff), with the --by name
    if given: never the evacuee screen's own."""
    return acting_as(_by(args), CLI)


def _by(args: argparse.Namespace) -> str:
    by = (args.by or "").strip()[:60]
    if contains_individual_number(by):   # 番号法 §20: kept on this kiosk with the record
        raise CommandError(_both(f"--by にマイナンバー（個人番号）は書けません。入力する人の名前を指定してください。"
                                 f"{NOTHING_SAVED_JA}",
                                 "--by must not hold an Individual Number (My Number): give your name; nothing was "
                                 "saved"))
    return by


def _birth(typed: str, today: dt.date) -> str:
    """--birth read as the kiosk's screen reads a birth date (evac.dates): 1990/01/01 as paper forms have it,
    full-width digits, 和暦; never a form that could name another day (01/02/1990, 90/1/2, a week date).
    2010-02-30 is typed as it should be but names no day: said so, not as a wrong form."""
    try:
        return parse_typed_birth_date(typed, today).isoformat()
    except NoSuchDay:
        ja, en = (f"--birth {typed} の日付は存在しません。年・月・日を確かめてください",
                  f"--birth {typed}: there is no such day; check the year, month and day")
    except TooLongAgo as exc:
        ja, en = (f"--birth {typed} は {exc.oldest.year} 年より前です。年を確かめてください",
                  f"--birth {typed} is before {exc.oldest.isoformat()}: check the year")
    except NotADate:
        shown_ja, shown_en = _typed(typed)
        ja, en = (f"--birth {shown_ja} は生年月日として読めません。1990-01-01、1990/01/01、平成2年1月1日 のように"
                  "年・月・日の順に入力してください",
                  f"--birth {shown_en} is not a date: type the birth date year, month, day (e.g. 1990-01-01, "
                  "1990/01/01 or 平成2年1月1日)")
    except InTheFuture:
        ja, en = (f"--birth {typed} は未来の日付です。年・月・日を確かめてください",
                  f"--birth {typed} is in the future: check the year, month and day")
    raise KioskError(_both(f"{ja}。{NOTHING_SAVED_JA}", f"{en}; nothing was saved"))


def _named(name: str) -> str:
    """--name as typed, refused if there is no name in it (spaces, or ・ alone), as the screen does."""
    if not normalize_name(name):
        raise KioskError(_both(f"--name が空です。用紙に書かれた名前を入力してください。{NOTHING_SAVED_JA}",
                               "--name is empty: type the name as written on the form; nothing was saved"))
    return name


def _who(args: argparse.Namespace) -> Person:
    today = _today()
    return parse_person({"name": _named(args.name), "birth_date": _birth(args.birth, today), "sex": "other",
                         "address": args.address}, today.toordinal())


@_refusals_said
def checkout(args: argparse.Namespace) -> int:
    who = _who(args)
    store = _store(args.db, saving=True)
    with _typed_by(args), _address_named(args, store, who):
        event = store.check_out(who.name, who.birth_date, who.address)
    print(_both(f"退所を記録しました: {who.name}（{event.shelter_id} から、記録 {event.seq} 番）",
                f"checked out: {who.name} from {event.shelter_id} (event {event.seq})"))
    return 0


@_refusals_said
def transfer(args: argparse.Namespace) -> int:
    who = _who(args)
    store = _store(args.db, saving=True)
    _known_shelter(args.to, store.shelter_ids(), "--to")
    with _typed_by(args), _address_named(args, store, who):
        event = store.transfer(who.name, who.birth_date, who.address, args.to)
    print(_both(f"移動を記録しました: {who.name}（{event.shelter_id} から {args.to} へ、記録 {event.seq} 番）",
                f"transfer: {who.name} from {event.shelter_id} to {args.to} (event {event.seq})"))
    return 0


@contextlib.contextmanager
def _address_named(args: argparse.Namespace, store: KioskStore, who: Person):
    """Without --address, "not checked in here" is most often the address left out: it is part of who
    someone is (name, birth date and address), so staff typing a paper form are told to give it.  Someone
    the roster knows, who left already, is said to have left, and how: there is no typo to look for."""
    try:
        yield
    except KioskError as exc:
        if "the destination is the shelter they are already in" in str(exc):
            raise KioskError(_both(f"移動先（--to {args.to}）は、今いる避難所と同じです。移動先の避難所IDを確かめてください。"
                                   f"{NOTHING_SAVED_JA}",
                                   f"{exc} (--to {args.to}): check the destination's id; nothing was saved")) from None
        if "is not checked in" not in str(exc):
            raise
        if left := _how_they_left(store.last_seen(who.name, who.birth_date, who.address), who):
            raise KioskError(_both(f"{left[0]}。{NOTHING_SAVED_JA}", f"{left[1]}; nothing was saved")) from None
        here = f"{args.name.strip()}（{_birth(args.birth, _today())}）はこの受付機の避難所にチェックインしていません"
        if args.address.strip():
            raise KioskError(_both(f"{here}。--name、--birth、--address を用紙と照らして確かめてください。"
                                   f"{NOTHING_SAVED_JA}",
                                   f"{exc}: check --name, --birth and --address against the form; nothing was "
                                   "saved")) from None
        raise KioskError(_both(f"{here}。住所も本人確認の一部です。チェックイン時の住所を --address で指定してください。"
                               f"{NOTHING_SAVED_JA}",
                               f"{exc}: no one of this name and birth date without an address is; give --address as "
                               "it was given at check-in; nothing was saved")) from None


def _how_they_left(seen: tuple[str, str | None, str] | None, who: Person) -> tuple[str, str] | None:
    """(Japanese, English) of how someone this kiosk's roster knows is no longer checked in here."""
    from evac.whereabouts import CHECKED_OUT, IN_TRANSIT
    if seen is None:
        return None
    state, shelter, left_elsewhere = seen
    ja_who, en_who = f"{who.name}（{who.birth_date}）", f"{who.name} ({who.birth_date})"
    if left_elsewhere == "moved":
        return (f"{ja_who}は、この受付機でチェックインしたあと、本部によると別の避難所で記録されています",
                f"{en_who} was recorded at another shelter since, HQ says")
    if left_elsewhere == "left":
        return (f"{ja_who}は、本部によると別の受付機でチェックアウトしています",
                f"{en_who} was checked out at another kiosk, HQ says")
    if state == CHECKED_OUT:
        return (f"{ja_who}は {shelter} からすでにチェックアウトしています",
                f"{en_who} has already checked out from {shelter}")
    if state == IN_TRANSIT:
        return (f"{ja_who}は {shelter} へ移動の途中です（移動先でチェックインされます）",
                f"{en_who} was sent on to {shelter} (they are checked in on arrival there)")
    return None


# What the event checks (evac.events) say of a field, and the option staff typed it with.
_OPTIONS = {"name in kana": "--kana", "name": "--name", "address": "--address", "family code": "--family-code",
            "reason for the withdrawal": "--reason"}
_FIELDS_JA = {"--kana": "ふりがな", "--name": "名前", "--address": "住所", "--family-code": "合言葉",
              "--reason": "取り下げの理由"}


def _invalid_in_words(exc: InvalidEvent) -> str:
    """A refusal of the event checks (evac.events, said in English for every caller) as staff typing a paper
    form read it: the option to correct named, Japanese first, and that nothing was saved."""
    text = str(exc)
    field = next((f for f in _OPTIONS if text.startswith(f"{f} ")), None)
    option = _OPTIONS.get(field) or ("--family-code" if "family code" in text else "")
    what = f"{option}（{_FIELDS_JA[option]}）" if option else "入力"
    if too_long := re.search(r"is too long \((\d+) characters, at most (\d+)\)", text):
        ja = f"{what}が長すぎます（{too_long[1]} 文字。{too_long[2]} 文字までです）"
    elif "control characters" in text:
        again = "入力し直してください" if option == "--reason" else "用紙のとおり入力し直してください"
        ja = f"{what}に制御文字が入っています。{again}"
    elif "broken character" in text:
        ja = f"{what}に壊れた文字が入っています。入力し直してください"
    elif "Individual Number" in text:
        ja = f"{what}にマイナンバー（12 桁の個人番号）のような番号があります。避難所では記録できません（番号法第20条）"
    elif text.endswith(" is missing"):
        ja = f"{what}が空です。書いてください"
    elif "only goes with consent for the family" in text:
        ja = "合言葉（--family-code）は家族への開示（--consent family）のときだけ指定できます"
    elif text.startswith("the family code must be"):
        ja = f"合言葉（--family-code）は {FAMILY_CODE_LEN[0]}〜{FAMILY_CODE_LEN[1]} 文字です"
    else:
        ja = f"{what}を受け付けられません。入力した内容を確かめてください"
    en = text if option in text else f"{option}: {text}" if option else text
    return _both(f"{ja}。{NOTHING_SAVED_JA}", f"{en}; nothing was saved")


def sync(args: argparse.Namespace) -> int:
    from .sync import HQClient, SyncError, console_text, failed_text, led, sync_once
    token, _ = _token(args)
    if not token:
        return _fail(_both(f"同期には、本部から受け取ったこの端末のトークンが要ります。--token-file PATH か環境変数 "
                           f"{TOKEN_ENV} で指定してください（--token TOKEN も使えますが、このマシンのほかの人に見えます）",
                           f"sync needs this kiosk's token from HQ: --token-file PATH, or {TOKEN_ENV} in the "
                           "environment (or --token TOKEN, which others on this machine can see)"))
    store = _store(args.db)
    try:
        report = sync_once(store, HQClient(args.hq, token, timeout=args.timeout))
    except sqlite3.Error as exc:   # reading its records (a damaged file, a failing disk): as every command says it
        if disk_failure.cause(exc) == disk_failure.DAMAGED:
            return _fail(_damaged(args.db))
        return _fail(_disk_refused(exc, args.db))
    except SyncError as exc:
        if exc.kind == SyncError.STORAGE:
            # HQ has the records: not a failed sync, a kiosk disk that refuses writes (exit 2, as every
            # command says a disk that refused its write).
            print(f"evac: {console_text(exc)}", file=sys.stderr)
            return 2
        print(f"evac: {failed_text(exc, '同期できませんでした: ', 'sync failed: ')}", file=sys.stderr)
        if "belongs to another kiosk database" in str(exc):
            print("evac: " + _both("トークンは一つの端末データベースにしか使えません。本部でこの端末を登録し直して"
                                   "（`evac hq enroll-kiosk`）新しいトークンを受け取り、新しい端末データベースで使ってください",
                                   "a token works with one kiosk database only: enroll this kiosk again at HQ "
                                   "(`evac hq enroll-kiosk`) for a new token, and use it with a new kiosk database"),
                  file=sys.stderr)
        return 1
    print(_both(f"同期しました: 本部はこの端末の記録をすべて受け取っています（{report.acked_seq} 番まで。今回 {report.sent} 件を送信）",
                f"synced: HQ holds every event of this kiosk (up to {report.acked_seq}; {report.sent} sent now)"))
    for doubt in report.doubts:
        print(f"evac: {led('警告: ', 'warning: ', doubt)}", file=sys.stderr)
    return 0


@_refusals_said
def new_device(args: argparse.Namespace) -> int:
    """A database restored from a backup: a fresh device id, so HQ takes its events again."""
    store = _store(args.db)
    device = store.new_device()
    print(_both(f"この端末のデータベースは {device} になりました。記録 {store.last_seq} 件をすべて本部へ送り直します。"
                "本部で端末を登録し直し（evac hq enroll-kiosk）、新しいトークンで同期してください",
                f"this kiosk database is now {device}; its {store.last_seq} event(s) will all be sent again. "
                "Enroll the kiosk again at HQ (evac hq enroll-kiosk) and sync with the new token."))
    return 0


# A damaged database is read record by record; this many unreadable numbers in a row end the search.
SALVAGE_GAP = 1000


def _salvage(path: str) -> list[dict]:
    """Every record that can still be read from a damaged kiosk database, one at a time (a damaged
    page loses the records on it, not the rest).  HQ takes records it already has as the same."""
    import json
    try:
        conn = dbfiles.open_read_only(path)
    except (sqlite3.Error, OSError):
        return []
    events, seq, misses = [], 0, 0
    try:
        while misses < SALVAGE_GAP:
            seq += 1
            try:
                row = conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
                event = json.loads(row[0]) if row else None
            except (sqlite3.DatabaseError, ValueError, TypeError):
                event = None
            if isinstance(event, dict) and event.get("seq") == seq and event.get("kiosk_id"):
                events.append(event)
                misses = 0
            else:
                misses += 1
    finally:
        conn.close()
    return events


def _carry_damaged(args: argparse.Namespace, token: str | None) -> int:
    """What can still be read of a damaged database, carried: HQ takes a kiosk's records only in
    order, so the file holds them up to the first one lost; the rest are counted, and stay in the
    damaged file for HQ."""
    from evac.carried import carried_file
    from evac.cli import write_whole
    found = _salvage(args.db)
    events = [e for i, e in enumerate(found) if e["seq"] == i + 1]
    if not events:
        return _fail(_both(f"端末のデータベース（{args.db}）が壊れていて、最初の記録から読み出せません（それより後の記録"
                           f" {len(found)} 件は読めます）。ファイルは消さずに残し、本部に渡してください（-wal と -shm の"
                           "ファイルがあれば一緒に）。新しいデータベースで端末を起動し、本部で登録し直してもらってください"
                           "（`evac hq enroll-kiosk`）",
                           f"the kiosk database at {args.db} is damaged and no record from the first on can be read "
                           f"from it ({len(found)} later one(s) can). Keep the file, do not delete it: give it to HQ "
                           "(with its -wal and -shm files, if there are any); start the kiosk on a new database and "
                           "have it enrolled again at HQ (`evac hq enroll-kiosk`)"))
    if Path(args.out).is_dir():
        return _fail(_out_is_a_folder(args.out))
    _not_another_kiosks(args, events[0]["kiosk_id"])
    write_whole(args.out, carried_file(events[0]["kiosk_id"], events, token))
    after = len(found) - len(events)
    ja = (f"端末のデータベース（{args.db}）が壊れています。記録 1〜{len(events)} 番は読み出せたので、書き出すファイルに"
          "入れました（本部はすでに受け取った記録を飛ばします）" + (
              f"。記録 {len(events) + 1} 番は失われました。その後の読める記録 {after} 件は順番が飛ぶため本部が取り込めません。"
              "壊れたファイルも本部に渡してください" if after else "") + "。壊れたファイルは消さずに残してください")
    en = (f"the kiosk database at {args.db} is damaged: records 1 to {len(events)} could be read and are in "
          f"the file (HQ skips those it already has)" + (
              f"; record {len(events) + 1} is lost, and the {after} readable record(s) after it cannot be taken by "
              "HQ out of order: give HQ the damaged file too" if after else "") + ". Keep the damaged file.")
    print(f"evac: {_both(ja, en)}", file=sys.stderr)
    print(_carried(args.out, token, f"{len(events)} 件", f"{len(events)} record(s)"))
    return 0


def _carried(out: str, token: str | None, count_ja: str, count_en: str) -> str:
    """What `carry` wrote, and how HQ takes it: said to the shelter's lead, Japanese first."""
    command = f"evac hq import-records --db URL {Path(out).name}" + ("" if token else " --token TOKEN")
    ja = "URL は本部を起動したときの --db" + ("" if token else "、TOKEN はファイルに入っていないこの端末の本部のトークン")
    en = "URL: the --db HQ is served with" + ("" if token else
                                                "; TOKEN: this kiosk's token from HQ, the file holds none")
    return (f"{count_ja}の記録を {out} に書き出しました。本部へ運び、本部で {command} を実行してください（{ja}）。"
            "避難者の個人情報です。紙の名簿と同じように保管し、本部が取り込んだら消してください。\n"
            f"wrote {count_en} to {out}. Carry it to HQ: {command} ({en}). It holds evacuees' personal data: keep it "
            "as the paper roster is kept, and delete it once HQ has it.")


def _out_is_a_folder(out: str) -> str:
    example = Path(out) / "records.json"
    return _both(f"{out} はフォルダです。--out にはファイル名を指定してください（例: {example}）",
                 f"{out} is a folder: give --out a file name, for example {example}")


def _not_another_kiosks(args: argparse.Namespace, device_id: str) -> None:
    """Two shelters' leads saving records.json to one USB stick: the second must not replace the first's
    records on their way to HQ (this kiosk's own older file is replaced, as it is meant to be)."""
    import json

    from evac.carried import FORMAT
    if args.force:
        return
    try:
        held = json.loads(Path(args.out).read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):   # none there, or no carried file: nothing of a kiosk's to lose
        return
    if not isinstance(held, dict) or held.get("format") != FORMAT or held.get("device_id") in (None, device_id):
        return
    events = held.get("events")
    last = events[-1] if isinstance(events, list) and events and isinstance(events[-1], dict) else {}
    shelter = f", checked in at {last['shelter_id']}" if isinstance(last.get("shelter_id"), str) else ""
    out = Path(args.out)
    other = out.with_name(f"{out.stem}-{device_id.removeprefix('kiosk-')[:8]}{out.suffix or '.json'}")
    shelter_ja = f"、{last['shelter_id']} でチェックイン" if shelter else ""
    raise CommandError(_both(f"{args.out} にはほかの端末の記録があります（端末データベース {held['device_id']}{shelter_ja}、"
                             f"書き出し {held.get('written_at') or '日時不明'}）。まだ本部に届いていないかもしれません。"
                             f"この端末の記録は別の名前で書き出してください（例: --out {other}。置き換えるなら --force）",
                             f"{args.out} holds another kiosk's records (kiosk database {held['device_id']}{shelter}, "
                             f"written {held.get('written_at') or 'at an unknown time'}), perhaps not at HQ yet: write "
                             f"this kiosk's to another name, for example --out {other} (or --force to replace them)"))


@_refusals_said
def carry(args: argparse.Namespace) -> int:
    """The records HQ has not acknowledged, to a file someone carries to HQ while the network is down."""
    from evac.carried import carried_file
    from evac.cli import write_whole
    token, _ = _token(args)
    try:
        store = _read_store(args.db)   # it only reads: a card turned read-only still gives up its records
        events = store.events_after(0 if args.all else store.acked_seq)
    except DamagedKiosk:
        return _carry_damaged(args, token)
    except sqlite3.DatabaseError as exc:
        if disk_failure.cause(exc) != disk_failure.DAMAGED:
            raise
        return _carry_damaged(args, token)
    if not events:
        print(_both("本部はこの端末の記録をすべて受け取っています（最後の同期の時点で）。運ぶものはありません"
                    "（--all を付けるとすべての記録を書き出します）",
                    "HQ holds every record of this kiosk (as of its last sync): there is nothing to carry; "
                    "--all writes every record anyway"))
        return 0
    if Path(args.out).is_dir():
        return _fail(_out_is_a_folder(args.out))
    _not_another_kiosks(args, store.device_id)
    write_whole(args.out, carried_file(store.device_id, events, token))
    first, last = events[0]["seq"], events[-1]["seq"]
    print(_carried(args.out, token, f"{len(events)} 件（{first}〜{last} 番）",
                   f"{len(events)} record(s), {first} to {last},"))
    return 0


def _why_hq_refuses_in_japanese(code: str) -> str:
    """Why HQ refuses a record, in Japanese as the tablet's panel says it ("" for a code not known there)."""
    from .staff.hq_refusals import RECORD_REASONS, in_japanese
    return "。" + in_japanese(RECORD_REASONS[code]).rstrip("。") if code in RECORD_REASONS else ""


@_refusals_said
def withdraw(args: argparse.Namespace) -> int:
    """The record HQ refuses for good, shown; withdrawn with --seq and --reason (as the lead does on
    the tablet), so that the records after it reach HQ.  For a kiosk with no lead account on it."""
    store = _store(args.db)
    refused = store.refusal()
    if refused is None:
        return _fail(_both("本部が受け付けない記録はありません（最後の同期の時点で）。取り下げるものはありません",
                           "HQ refuses no record of this kiosk (as of its last sync): there is nothing to withdraw"))
    ev = refused.event
    who = (ev.get("person") or {}).get("name", "")
    outdated = refused.code == HQ_OUTDATED and ev.get("type") != WITHDRAWN
    # The record, as the tablet's panel shows it: HQ's own words (in English) stay in the English half.
    ja = f"本部が記録 {refused.seq} 番（種類 {ev.get('type')}{'、' + who if who else ''}、避難所 {ev.get('shelter_id')}）を受け付けません"
    shown = _both(ja + ("" if outdated else _why_hq_refuses_in_japanese(refused.code)),
                  f"HQ refuses record {refused.seq} ({ev.get('type')}{', ' + who if who else ''}, "
                  f"at {ev.get('shelter_id')}): {refused.message}")
    if outdated and (args.seq is None or args.seq == refused.seq):
        # HQ's software is older than this kiosk's: withdrawn, the record would never reach HQ, even updated.
        out = sys.stdout if args.seq is None else sys.stderr   # asked to withdraw it: refused, exit 2
        if args.seq is not None:
            print("evac: " + _both(f"記録 {refused.seq} 番は取り下げませんでした", f"record {refused.seq} is not withdrawn"),
                  file=out)
        print(shown, file=out)
        print(_both("本部のソフトウェアがこの端末より古く、この種類の記録を知りません。本部にソフトウェアの更新を依頼して"
                    "ください。この記録は取り下げないでください。記録はこの端末に残り、本部が更新されると送られます",
                    "HQ's software is older than this kiosk's: it does not know this kind of record. Ask HQ to update "
                    "its software. Do NOT withdraw this record: the records stay queued on this kiosk and are sent "
                    "once HQ is updated."), file=out)
        return 0 if args.seq is None else 2
    if args.seq is None or not args.reason:
        print(shown)
        print(_both(f"この記録を取り下げて、ほかの記録を本部へ送るには: evac kiosk withdraw --db {args.db} --seq "
                    f"{refused.seq} --reason 理由 --by 氏名（記録はこの端末に残ります。本部に伝わるのは理由だけです）",
                    f"To send the other records without it: evac kiosk withdraw --db {args.db} --seq {refused.seq} "
                    "--reason WHY --by YOUR-NAME  (the record stays on this kiosk; HQ sees only the reason)"))
        return 0
    try:
        store.withdraw(args.seq, args.reason, _by(args) or "command line", args.shelter or "")
    except KioskError as exc:
        if exc.about != "event":
            raise
        return _fail(_invalid_in_words(InvalidEvent(str(exc))))   # the --reason, as checkin's fields are said
    print(_both(f"取り下げました: 記録 {args.seq} 番はこの端末に残ります。次の同期でその後の記録が送られます",
                f"withdrawn: record {args.seq} stays on this kiosk; the next sync sends the records after it"))
    return 0


# What a screen fetches on every page (fonts, scripts) or polls each second: its lines buried the console's
# words to staff (sync trouble, a full disk).  Said only when it fails.
_QUIET_PATHS = re.compile(r"/static/|/api/card-status$|/screen/calls/[^/]+$|/staff/(open-calls|alive)$")


def _logged_path(path: str) -> str:
    """The path as the access log shows it: one holding what looks like an Individual Number (番号法 §20: a
    tablet's address bar, /staff/person/1234-5678-9018, full-width digits too) with its digits starred out.
    WSGI gives the path's UTF-8 bytes as Latin-1: read as UTF-8 to find the number however it was typed."""
    try:
        typed = path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        typed = path
    return without_individual_numbers(typed) if contains_individual_number(typed) else path


def _access_log(app):
    """WSGI middleware: one line per request on stderr, without the query string: a roster search
    (?q=…) is an evacuee's name."""
    import time

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            if (environ.get("REQUEST_METHOD") in ("GET", "HEAD") and status[:1] in ("2", "3")
                    and _QUIET_PATHS.match(environ.get("PATH_INFO", ""))):
                return start_response(status, headers, exc_info)
            when = time.strftime("%d/%b/%Y %H:%M:%S")
            try:
                print(f'{environ.get("REMOTE_ADDR", "-")} - - [{when}] "{environ.get("REQUEST_METHOD", "-")} '
                      f'{_logged_path(environ.get("PATH_INFO", "")) or "-"}" {status.split(" ", 1)[0]} -',
                      file=sys.stderr, flush=True)
            except (OSError, ValueError):  # a log on a full disk must not fail the request
                pass
            return start_response(status, headers, exc_info)
        return app(environ, start)
    return logged


def serve(args: argparse.Namespace) -> int:
    import waitress

    from evac.cli import listen_trouble

    from . import create_app, settings as kiosk_settings
    token, source = _token(args)
    if args.hq and not token:
        return _fail(_both(f"--hq には、本部から受け取ったこの端末のトークンが要ります。--token-file PATH か環境変数 "
                           f"{TOKEN_ENV}（または --token TOKEN）で指定してください。両方あるときだけ本部と同期します",
                           f"--hq needs this kiosk's token from HQ: --token-file PATH, or {TOKEN_ENV} in the "
                           "environment (or --token TOKEN): the kiosk syncs with HQ only when it has both"))
    if token and not args.hq:
        unset = source == TOKEN_ENV
        return _fail(_both(f"トークン（{source}）がありますが --hq がありません。両方あるときだけ本部と同期します"
                           f"（単独で動かすなら両方とも外してください{'。' + TOKEN_ENV + ' も消してください' if unset else ''}）",
                           f"a token is given ({source}) but no --hq: the kiosk syncs with HQ only when it has both "
                           f"(leave both out to run on its own{', and unset ' + TOKEN_ENV if unset else ''})"))
    from evac.passwords import cheap_hashing_warning
    if warning := cheap_hashing_warning():
        print(warning, file=sys.stderr)
    # Every refusal of the options comes before a new kiosk database is made: a typo must not leave a stray
    # one that a second try starts on as if it were meant, and none is ever taken back (another command,
    # `evac kiosk checkin` into the same new --db, may be writing to it).
    if args.tablet_port and args.tablet_port == args.port:
        return _fail(_both(f"--tablet-port {args.tablet_port} は --port と同じです。タブレット用の HTTPS には別のポートを"
                           "指定してください（例: --tablet-port 5443）",
                           f"--tablet-port {args.tablet_port} is also --port: give the tablets' HTTPS a port of its "
                           "own (e.g. --tablet-port 5443)"))
    if not args.tablet_port and (args.tls_cert or args.tls_key):
        return _fail(_both("--tls-cert と --tls-key はタブレット用の HTTPS ポートのためのものです。--tablet-port も"
                           "指定してください",
                           "--tls-cert and --tls-key are for the tablets' HTTPS port: give --tablet-port too"))
    _listenable(args.host, args.port, "--host", "--port")
    if args.tablet_port:
        _listenable(args.tablet_host, args.tablet_port, "--tablet-host", "--tablet-port")
    new = dbfiles.absent_or_empty(args.db)
    if new and args.shelter not in KioskStore.bundled_shelter_ids():
        return _fail(_unknown_shelter(args.shelter, "--shelter"))
    try:
        kiosk_settings({"KIOSK_DB": args.db, "SHELTER_ID": args.shelter})
    except ValueError as exc:   # KIOSK_SYNC_MAX_BACKOFF
        return _fail(str(exc))
    tablets = tablet_urls = None
    if args.tablet_port:
        from .tablet_tls import tablet_certificate
        addresses = _tablet_addresses(args.tablet_host)
        try:
            # The city's certificate is checked before a new database is made; this kiosk's own is kept
            # beside the database (`kiosk.tablet_tls.own_paths`), made once its folder is known to be there.
            city = tablet_certificate(args.db, args.tls_cert, args.tls_key, names=(args.tablet_host, *addresses)) \
                if args.tls_cert or args.tls_key else None
        except KioskError as exc:
            return _fail(_kiosk_refused(exc, saving=False))
    was_empty = new and Path(args.db).exists()
    store = _store(args.db, may_create=True)
    if warning := dbfiles.readable_by_anyone_warning(args.db):
        print(warning, file=sys.stderr)
    if was_empty:
        print(f"evac: 注意: {args.db} は空のファイルだったので、新しい端末のデータベースにしました。この端末に記録が"
              "あったはずなら（故障しかけたカードの停電で空になることがあります）、端末を止めて本部に連絡してください / "
              f"note: the kiosk database at {args.db} was an empty file: it is now a new kiosk database. If this "
              "kiosk held records before (a power cut on a failing card can empty its file), stop it and call HQ",
              file=sys.stderr)
    try:
        # A damaged file (pages overwritten by a failing card) must not start as if all were well,
        # and later be reported as a full or failing disk.  quick_check: 0.04 s on a 50 MB kiosk.
        damage = store.quick_check()
        known = store.shelter_ids()
        enrolled = store.enrolled_shelter()
    except sqlite3.DatabaseError as exc:
        if disk_failure.cause(exc) != disk_failure.DAMAGED:
            raise
        damage = [str(exc)]
    finally:
        store.close()
    if damage:
        return _fail(f"{_damaged(args.db)} (SQLite: {damage[0]})")
    if args.shelter not in known:
        return _fail(_unknown_shelter(args.shelter, "--shelter"))
    if args.tablet_port:
        try:
            tablets = city or tablet_certificate(args.db, names=(args.tablet_host, *addresses))
        except KioskError as exc:
            return _fail(_kiosk_refused(exc, saving=False))
        # With the city's certificate, the names on it (an address it does not name would be refused).
        shown = addresses if tablets.made_here else [n for n in tablets.names if n not in ("localhost", "127.0.0.1")]
        tablet_urls = [f"https://{_in_url(a)}:{args.tablet_port}/staff/" for a in shown or addresses]
    try:
        app = create_app({"KIOSK_DB": args.db, "SHELTER_ID": args.shelter, "HQ_URL": args.hq,
                          "HQ_TOKEN": token, "SYNC_SAY": _say, "CARD_READER": args.card_reader,
                          "READER_NAME": args.reader_name, "NFC_DEVICE": args.nfc_device,
                          "IC_READER": args.ic_reader, "SCREEN_TIMEOUT": args.screen_timeout,
                          "TABLETS": tablets and {"urls": tablet_urls, "port": args.tablet_port,
                                                  "fingerprint": tablets.fingerprint if tablets.made_here else None}})
    except (KioskError, ValueError) as exc:
        return _fail(str(exc))
    except sqlite3.Error as exc:
        ja = dbfiles.in_japanese(exc, args.db) or "--db を確かめてください"
        return _fail(_both(f"端末のデータベース（{args.db}）を開けません。{ja}",
                           f"cannot open the kiosk database at {args.db}: {dbfiles.in_words(exc, args.db)}"))
    disk_failure.survive_file_size_limits()
    # waitress, as HQ: a production server (no "development server" warning to alarm staff).  Responses
    # stay in memory up to 64 MB, so a full disk cannot stop staff reading the roster or its export.
    try:
        server = waitress.create_server(_access_log(app), host=args.host, port=args.port, threads=16,
                                        ident="evac-kiosk", outbuf_overflow=64 * 2**20, inbuf_overflow=2**20)
    except (OSError, ValueError) as exc:
        raise CommandError(_both(*reversed(listen_trouble(args.host, args.port, exc))), 1) from None
    tablet_server = None
    if tablets:
        from .tablet_server import tablet_server as serve_tablets
        try:
            # A certificate made again while running: the status page shows its fingerprint from then on.
            tablet_server = serve_tablets(_access_log(app), args.tablet_host, args.tablet_port, tablets,
                                          lambda new: app.config["TABLETS"].update(
                                              fingerprint=new.fingerprint if new.made_here else None))
        except (OSError, ValueError) as exc:
            raise CommandError(_both(*reversed(listen_trouble(args.tablet_host, args.tablet_port, exc,
                                                              "--tablet-host", "--tablet-port"))), 1) from None
    if enrolled and enrolled != args.shelter:
        # Not refused: a kiosk carried to another shelter must go on checking people in there.
        print(f"evac: 警告: 本部はこの端末を {enrolled} に登録していますが、--shelter は {args.shelter} です。ここで"
              f"チェックインした人は {args.shelter} に数えられます（間違いなら --shelter {enrolled} で起動し直して"
              f"ください） / warning: HQ enrolled this kiosk at {enrolled}, but --shelter is {args.shelter}: HQ will "
              f"count the people checked in here at {args.shelter} (if that is a slip, restart with --shelter "
              f"{enrolled})", file=sys.stderr, flush=True)
    if source == "--token":
        print("evac: 注意: コマンドラインの --token は、このマシンの誰からでも見えます（ps）。--token-file PATH（持ち主"
              f"だけが読めるファイル）か {TOKEN_ENV} を使ってください / note: a --token on the command line can be "
              f"seen by anyone on this machine (ps); --token-file PATH (readable by its owner only) or {TOKEN_ENV} "
              "keep it private", file=sys.stderr, flush=True)
    print(f"{args.shelter} の受付機を http://{args.host}:{args.port} で開きました / kiosk for {args.shelter} on "
          f"http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    if tablets:
        _say_tablets(tablet_urls, tablets)
    if not loopback(args.host):
        print("evac: 警告: 職員のタブレットは暗号化されていない HTTP でこの端末に届きます。避難所の Wi-Fi にいる誰もが、"
              "通信中の名簿と職員のパスワードを読めます。タブレットには --tablet-port 5443（HTTPS）を使い、--host は "
              "127.0.0.1 のままにしてください" + ("（--tablet-port があるので、このポートに来たタブレットはログインの前に "
                                                  "HTTPS へ送られます）" if tablets else "")
              + " / warning: staff tablets reach this kiosk by plain HTTP: anyone on the shelter's Wi-Fi can read "
              "the roster as it crosses it, and staff passwords. Use --tablet-port 5443 (HTTPS) for tablets and "
              "leave --host at 127.0.0.1" + (" (with --tablet-port, a tablet on this plain port is sent to HTTPS "
                                             "before it logs in)" if tablets else ""), file=sys.stderr, flush=True)
    try:
        server.run()
    finally:
        if tablet_server is not None:
            tablet_server.stop()
    return 0


def _listenable(host: str, port: int, host_flag: str, port_flag: str) -> None:
    """A host that is no address of this machine, a name nothing resolves (or not in ASCII: the tablets'
    certificate cannot name it), or a port in use is refused before a new kiosk database is made."""
    import socket

    from evac.cli import listen_trouble
    try:
        host.encode("ascii")
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as trial:
            trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as waitress binds it
            trial.bind(address)
    except (OSError, ValueError) as exc:
        raise CommandError(_both(*reversed(listen_trouble(host, port, exc, host_flag, port_flag))), 1) from None


def _tablet_addresses(host: str) -> list[str]:
    """The addresses to type on a tablet: the one given, or on every network each of this machine's
    IPv4 addresses but loopback (a kiosk may sit on two networks), else its name."""
    import socket
    if host not in ("0.0.0.0", "::", ""):
        return [host]
    found = []
    for _, name in socket.if_nameindex():
        address = _ipv4_of(name)
        if address and not address.startswith("127.") and address not in found:
            found.append(address)
    return found or [socket.gethostname()]


def _ipv4_of(interface: str) -> str | None:
    """An interface's IPv4 address (Linux: SIOCGIFADDR), or None."""
    import fcntl
    import socket
    import struct
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", interface.encode()[:15]))
    except OSError:   # no IPv4 address on it
        return None
    return socket.inet_ntoa(packed[20:24])


def _in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _say_tablets(urls: list[str], tablets) -> None:
    print(f"スタッフのタブレットからは {' または '.join(urls)} / staff tablets: {' or '.join(urls)}", file=sys.stderr,
          flush=True)
    for note in tablets.notes:
        print(f"evac: {note}", file=sys.stderr, flush=True)
    if tablets.made_here:
        print("evac: タブレットのブラウザが初回に証明書の警告を出します。証明書の指紋がこれと同じか確かめてから進んでください / "
              "a tablet's browser warns about this kiosk's own certificate the first time: go on only if the "
              f"certificate's SHA-256 fingerprint it shows is {tablets.fingerprint}", file=sys.stderr, flush=True)


def _say(text: str) -> None:
    """The background sync's changes of state (kiosk.sync.BackgroundSync), on the operator's console."""
    import time
    print(f"evac: [{time.strftime('%d/%b/%Y %H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# The kiosk's roles (--role), as the staff tablet names them in Japanese.
_ROLES_JA = {"staff": "職員", "lead": "責任者"}


def add_staff(args: argparse.Namespace) -> int:
    """A staff account on this kiosk; the password comes on stdin so it stays out of shell history."""
    from .staff_store import add_staff as add, checked_new_account
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        return _fail(_both(f"パスワードが標準入力（stdin）にありません。コマンドの後に入力してください（またはパイプで渡してください）。"
                           f"{NOTHING_SAVED_JA}",
                           "no password came on stdin: type it after the command (or pipe it in); nothing was saved"))
    try:
        # before a new kiosk database is made: a refused account leaves none behind, and none is taken back
        checked_new_account(args.name, args.role, password)
    except KioskError as exc:
        return _fail(_kiosk_refused(exc, saving=True))
    made = dbfiles.absent_or_empty(args.db)
    was_empty = made and Path(args.db).exists()
    store = _store(args.db, may_create=True)
    try:
        account = add(store, args.name, args.role, password)
    except KioskError as exc:   # a name already taken: only in a database that was there
        return _fail(_kiosk_refused(exc, saving=True))
    finally:
        store.close()
    print(_both(f"職員アカウントを追加しました: {account.name}（{_ROLES_JA.get(account.role, account.role)}）",
                f"staff account added: {account.name} ({account.role})"))
    if made:
        # Staff may be set up before the kiosk's first start; a mistyped --db must not go unnoticed.
        print(_both(f"端末のデータベースを {args.db} に新しく作りました。端末は --db {args.db} で起動してください",
                    f"a new kiosk database was made at {args.db}: start the kiosk with --db {args.db}"))
    if was_empty:
        print(_was_an_empty_file(args.db), file=sys.stderr)
    return 0


@_refusals_said
def disable_staff(args: argparse.Namespace) -> int:
    """A staff member who left: their tablet log-ins end now, their password is refused from now on."""
    from .staff_store import disable_staff as disable
    account = disable(_store(args.db), args.name)
    print(_both(f"職員アカウント {account.name} を無効にしました。すべてのタブレットでログアウトされ、以後はログインできません"
                "（この職員の記録には名前が残ります。元に戻すには `evac kiosk enable-staff`）",
                f"staff account disabled: {account.name} (logged out everywhere; its records stay under its name; "
                "`evac kiosk enable-staff` lets it log in again)"))
    return 0


@_refusals_said
def enable_staff(args: argparse.Namespace) -> int:
    from .staff_store import enable_staff as enable
    account = enable(_store(args.db), args.name)
    print(_both(f"職員アカウント {account.name}（{_ROLES_JA.get(account.role, account.role)}）は再びログインできます",
                f"staff account enabled: {account.name} ({account.role}) can log in again"))
    return 0


@_refusals_said
def set_staff_password(args: argparse.Namespace) -> int:
    """A new password, on stdin as for add-staff; the account's log-ins made with the old one end."""
    from .staff_store import set_password
    password = sys.stdin.readline().rstrip("\r\n")
    account = set_password(_store(args.db), args.name, password)
    print(_both(f"職員アカウント {account.name} のパスワードを変更しました。すべてのタブレットでログアウトされたので、"
                "新しいパスワードでログインしてください",
                f"password changed: {account.name} (logged out everywhere; log in with the new password)"))
    return 0


def hq_url(text: str) -> str:
    """argparse type for --hq: a web address, so a bare host:port is refused at once, not at sync."""
    from urllib.parse import urlsplit
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown_ja, shown_en = _typed(text)
        raise argparse.ArgumentTypeError(f"http:// か https:// で始まるアドレスにしてください（例 http://10.0.0.2:5000。いまは "
                                         f"{shown_ja}） / must start with http:// or https:// (e.g. "
                                         f"http://10.0.0.2:5000), not {shown_en}")
    return text.strip()


def seconds(text: str) -> float:
    """argparse type: a time above zero."""
    try:
        value = float(text)
    except ValueError:
        shown_ja, shown_en = _typed(text)
        raise argparse.ArgumentTypeError(f"{shown_ja} は秒数ではありません / {shown_en} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"0 秒より長くしてください（いまは {text}） / must be more than 0 seconds, "
                                         f"not {text}")
    return value


SYNC_TIMEOUT_MAX = 600   # ten minutes a step: beyond it a kiosk would seem hung, and the system's timers overflow


def sync_timeout(text: str) -> float:
    """argparse type: `evac kiosk sync --timeout`, a time above zero and at most SYNC_TIMEOUT_MAX."""
    try:
        too_long = float(text) > SYNC_TIMEOUT_MAX   # (infinity too)
    except ValueError:
        too_long = False   # said by seconds()
    if too_long:
        raise argparse.ArgumentTypeError(f"{SYNC_TIMEOUT_MAX} 秒（10 分）までにしてください（いまは {text}） / must be at "
                                         f"most {SYNC_TIMEOUT_MAX} seconds (10 minutes), not {text}")
    return seconds(text)


def token_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--token-file", metavar="PATH",
                   help=f"a file holding {what}, readable by its owner only (or set {TOKEN_ENV})")
    p.add_argument("--token", help=f"{what} (others on this machine can see it: prefer --token-file or {TOKEN_ENV})")


def register(parser: argparse.ArgumentParser) -> None:
    from evac.cli import port_number
    sub = parser.add_subparsers(dest="command", required=True)

    def who(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", required=True, help="the kiosk's SQLite file")
        p.add_argument("--name", required=True)
        p.add_argument("--birth", required=True, help="year, month, day: 1990-01-01, 1990/01/01 or 平成2年1月1日")
        p.add_argument("--address", default="")
        p.add_argument("--by", help="who types it in (kept on this kiosk with the record, for the lead's "
                                    "'who did what' page)")

    p = sub.add_parser("checkin", help="check a person in")
    who(p)
    p.add_argument("--shelter", required=True)
    p.add_argument("--sex", required=True, choices=SEXES)
    p.add_argument("--kana", help="name in kana")
    p.add_argument("--stay-type", default="in_shelter", choices=STAY_TYPES)
    p.add_argument("--consent", choices=CONSENTS,
                   help="what family inquiries may be told at once: none (the default: only after HQ "
                        "confirms who asks), family (whoever gives --family-code), public (anyone)")
    p.add_argument("--family-code", help=f"{FAMILY_CODE_LEN[0]} to {FAMILY_CODE_LEN[1]} letters or digits the family gives when they ask")
    p.add_argument("--never-disclose", action="store_true",
                   help="DV or stalker protection: inquiries are answered as if the city knew nothing")
    p.add_argument("--even-if-elsewhere", action="store_true",
                   help="check in at a shelter this kiosk was not enrolled at and has checked no one in at (a "
                        "paper form carried from another shelter); without it such a check-in is refused")
    p.add_argument("--even-if-closed", action="store_true",
                   help="check in at a shelter its staff closed on the tablet (a paper form filled in before "
                        "it closed); without it such a check-in is refused")
    p.add_argument("--new", action="store_true",
                   help="a new kiosk database at --db is meant (without it, one made is also said on stderr, "
                        "so that a mistyped --db is noticed)")
    p.set_defaults(func=checkin)

    p = sub.add_parser("checkout", help="check a person out")
    who(p)
    p.set_defaults(func=checkout)

    p = sub.add_parser("carry", help="the records HQ has not acknowledged, to a file carried to HQ by hand")
    p.add_argument("--db", required=True)
    p.add_argument("--out", required=True, help="the file to write (on a USB stick, say)")
    token_options(p, "this kiosk's token from HQ, so that HQ knows the file is this kiosk's")
    p.add_argument("--all", action="store_true", help="every record, also those HQ acknowledged")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds another kiosk's records")
    p.set_defaults(func=carry)
    p = sub.add_parser("transfer", help="a person leaves for another shelter")
    who(p)
    p.add_argument("--to", required=True, help="destination shelter id")
    p.set_defaults(func=transfer)

    p = sub.add_parser("sync", help="one sync round with HQ")
    p.add_argument("--db", required=True)
    p.add_argument("--hq", required=True, type=hq_url, help="HQ's base URL (http://HOST:PORT)")
    token_options(p, "this kiosk's token from HQ")
    # A satellite or congested mobile link may need longer; a kiosk on HQ's own network can give up sooner.
    p.add_argument("--timeout", type=sync_timeout, default=SYNC_TIMEOUT, metavar="S",
                   help=f"seconds to wait for each step of HQ's answer (default {SYNC_TIMEOUT:g}, at most "
                        f"{SYNC_TIMEOUT_MAX}); each request ends after at most 4 times that")
    p.set_defaults(func=sync)

    p = sub.add_parser("new-device", help="after restoring a backup: a fresh device id, every event sent again")
    p.add_argument("--db", required=True, help="the kiosk's SQLite file")
    p.set_defaults(func=new_device)

    p = sub.add_parser("withdraw", help="show the record HQ refuses for good, or withdraw it (--seq, --reason)")
    p.add_argument("--db", required=True, help="the kiosk's SQLite file")
    p.add_argument("--seq", type=int, help="the refused record's number, as shown without --seq")
    p.add_argument("--reason", help="why, for HQ (HQ sees it: write why, not who)")
    p.add_argument("--by", default="command line", help="who withdraws it (kept on this kiosk)")
    p.add_argument("--shelter", help="this kiosk's shelter id, if the refused record's own is not one")
    p.set_defaults(func=withdraw)

    p = sub.add_parser("add-staff", help="add a staff account for the staff tablet (password on stdin)")
    p.add_argument("--db", required=True, help="the kiosk's SQLite file")
    p.add_argument("--name", required=True, help="the staff member's log-in name")
    p.add_argument("--role", required=True, choices=("staff", "lead"), help="shelter staff or shelter lead")
    p.set_defaults(func=add_staff)

    for name, func, help_text in (
            ("disable-staff", disable_staff, "stop a staff account logging in and log it out now (records stay)"),
            ("enable-staff", enable_staff, "let a disabled staff account log in again"),
            ("set-password", set_staff_password, "give a staff account a new password (on stdin); logs it out")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--db", required=True, help="the kiosk's SQLite file")
        p.add_argument("--name", required=True, help="the staff member's log-in name")
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help="run the kiosk app, syncing in the background")
    p.add_argument("--db", required=True)
    p.add_argument("--shelter", required=True)
    p.add_argument("--hq", type=hq_url, help="HQ's base URL (http://HOST:PORT); with --token, sync in the background")
    token_options(p, "the token `evac hq enroll-kiosk` printed for this kiosk; with --hq, sync in the background")
    p.add_argument("--port", type=port_number, default=5001,
                   help="plain HTTP, for this machine's own screen (default 5001)")
    p.add_argument("--host", default="127.0.0.1",
                   help="where --port listens (default 127.0.0.1: this machine only; tablets use --tablet-port)")
    p.add_argument("--tablet-port", type=port_number,
                   help="HTTPS for staff tablets on the shelter's Wi-Fi (e.g. 5443): https://KIOSK:PORT/staff/")
    p.add_argument("--tablet-host", default="0.0.0.0", help="where --tablet-port listens (default: every network)")
    p.add_argument("--tls-cert", help="the city's certificate for the tablets (PEM); without it the kiosk makes its own")
    p.add_argument("--tls-key", help="that certificate's private key (PEM, no password)")
    p.add_argument("--card-reader", choices=("pcsc", "nfc"), help="the My Number card reader, if any")
    p.add_argument("--reader-name", help="PC/SC reader name (its beginning is enough)")
    p.add_argument("--nfc-device", default="usb", help="nfcpy device (usb, usb:054c:06c3, udp:HOST:PORT)")
    p.add_argument("--ic-reader", action="store_true",
                   help="offer transport IC cards on the screen (read on the nfcpy --nfc-device)")
    p.add_argument("--screen-timeout", type=seconds, default=90,
                   help="seconds without a touch before the screen starts over (default 90)")
    p.set_defaults(func=serve)
