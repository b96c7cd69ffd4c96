"""What a SQLite file named on the command line is, found out before anything writes to it.

A typo in --db must not quietly become a new, empty database (HQ would bind a kiosk's token to
it), and HQ's tables must not land in a kiosk's file or the other way round.  Every refusal says
what is wrong in words and what to check.
"""
from __future__ import annotations

import os
import pwd
import shlex
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

KIOSK, HQ = "kiosk", "HQ"
_WHOSE = {KIOSK: "a kiosk's", HQ: "HQ's"}
_WHOSE_JA = {KIOSK: "端末の", HQ: "本部の"}


class DatabaseFileError(Exception):
    """The file cannot be this command's database; the message is the whole story, one line.  `ja` tells
    it in Japanese: HQ's and the kiosk's commands say "ja / English" (their operators read Japanese first);
    str() is the English."""

    def __init__(self, message: str, ja: str = ""):
        super().__init__(message)
        self.ja = ja


class DamagedDatabase(DatabaseFileError):
    """SQLite finds the file corrupt (pages overwritten, cut short): a failing disk or a power cut."""


def create_private(path: str | os.PathLike, expect: str) -> None:
    """Make a new database file readable by its owner only: it holds evacuees' names, birth dates and
    addresses, and SQLite gives its -wal and -shm the database file's permissions.  An existing empty
    file (made with `touch`) is about to become one: it is made its owner's only too, or refused
    (DatabaseFileError) when this user may not, and left as it was.  An existing database keeps the
    permissions its operator gave it."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return
    except FileExistsError:
        pass
    try:
        found = os.stat(path)
    except FileNotFoundError:
        # A symlink to a file not made yet (O_EXCL does not follow it): its target is the new file.
        target = os.path.realpath(path)
        if target != os.path.abspath(path):
            try:
                os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except OSError:
                pass   # (a folder that is not there, a loop: SQLite says so when it opens it)
        return
    if not stat.S_ISREG(found.st_mode) or found.st_size or not found.st_mode & 0o077:
        return
    try:
        os.chmod(path, stat.S_IMODE(found.st_mode) & 0o700)
    except OSError as exc:
        raise _not_made_private(Path(path), expect, found.st_uid, exc) from None


def readable_by_anyone_warning(path: str | os.PathLike) -> str | None:
    """A warning, Japanese first, when any user of this machine may read the database, its -wal or its
    -shm (a database made by a release before new files were their owner's only, 0644); None otherwise.
    Said, not changed: an operator may have a reason, and a group's read (a backup's) is not warned of."""
    files = []
    # SQLite keeps the -wal and -shm beside the file a symlinked --db points to, not beside the link.
    real = os.path.realpath(path)
    for file in (Path(real), Path(f"{real}-wal"), Path(f"{real}-shm")):
        try:
            if file.stat().st_mode & stat.S_IROTH:
                files.append(shlex.quote(str(file)))
        except OSError:
            continue
    if not files:
        return None
    # (SQLite makes the -wal and -shm with the database's permissions: they need the same once it has them)
    return (f"evac: 警告: データベース {path} は、このマシンのどの利用者も読めます（避難者の名前、生年月日、住所が"
            f"入っています）。持ち主だけが読めるようにしてください: chmod 600 {' '.join(files)}（-wal と -shm が"
            f"あればそれも） / warning: any user of this machine can read the database at {path}, which holds "
            f"evacuees' names, birth dates and addresses: make it its owner's only with chmod 600 {' '.join(files)} "
            "(and its -wal and -shm when they are there)")


def _not_made_private(path: Path, expect: str, uid: int, exc: OSError) -> DatabaseFileError:
    label, label_ja = f"{expect} database", f"{_WHOSE_JA[expect]}データベース"
    owner, me = _user(uid), _user(os.geteuid())
    if isinstance(exc, PermissionError):
        why = (f"{me} cannot make it readable by its owner only (only {owner} can)",
               f"{me} には持ち主だけが読めるように変えられません（変えられるのは {owner} だけです）")
    else:
        why = (f"it cannot be made readable by its owner only ({exc.strerror})",
               f"持ち主だけが読めるように変えられません（{exc.strerror}）")
    return DatabaseFileError(
        f"the {label} at {path} is an empty file of {owner}'s that other users of this machine can read, and "
        f"{why[0]}: the database would hold evacuees' names, birth dates and addresses. Run `chmod 600 {path}` "
        f"as {owner}, or delete the empty file (this command then makes a new one, readable by {me} only); "
        "nothing was changed",
        f"{label_ja}（{path}）は {owner} の空のファイルで、このコンピューターの他の利用者も読めます。{why[1]}。"
        f"データベースには避難者の氏名・生年月日・住所が入ります。{owner} として `chmod 600 {path}` を実行するか、"
        f"空のファイルを消してください（このコマンドが {me} だけが読める新しいファイルを作ります）。何も変更していません")


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:   # a user id with no name on this machine (a file from another machine's disk)
        return f"user {uid}"


def kind(path: Path, label: str = "database", label_ja: str = "データベース") -> str | None:
    """KIOSK, HQ, None for an empty database, or "other"; raises DatabaseFileError if it is no
    SQLite database at all.  Opened read-only: looking never changes the file."""
    try:
        conn = open_read_only(path)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        error = DamagedDatabase if "malformed" in str(exc) else DatabaseFileError
        raise error(f"cannot open the {label} at {path}: {in_words(exc, path)}",
                    f"{label_ja}（{path}）を開けません。{in_japanese(exc, path)}") from None
    if not tables:
        return None
    if "alembic_version" in tables or "hq_meta" in tables:
        return HQ
    if "meta" in tables and "events" in tables:
        return KIOSK
    return "other"


def open_read_only(path: str | os.PathLike) -> sqlite3.Connection:
    """The database at `path` for reading only, also on a disk that became read-only (a failing SD
    card), where SQLite cannot make the -shm file a WAL database needs.  There, without a -wal file
    everything is in the file itself and it is opened as immutable; with one, the file and its WAL
    are copied to a temporary folder, read into memory, and the copy deleted."""
    path = Path(path).resolve()
    wal = Path(f"{path}-wal")
    if not wal.exists() and not os.access(path, os.W_OK):
        # A read-only file: SQLite would make its -wal and -shm read-only too, and they would then stop
        # the kiosk when the file's permission is put right.  Without a -wal nothing is on its way in.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if not on_read_only_disk(path):
            raise
    if not wal.exists():
        # No -wal: no connection has it open in WAL mode, nothing is on its way into the file.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    with tempfile.TemporaryDirectory(prefix="evac-read-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, f"{copy}-wal")
        source = sqlite3.connect(copy)
        try:
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            source.backup(memory)
        finally:
            source.close()
    return memory


def on_read_only_disk(path: str | os.PathLike) -> bool:
    """Whether the disk holding `path` is mounted read-only (a failing SD card, remounted by the kernel)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def read_only_disk_in_words(path: str | os.PathLike) -> str:
    """What to do with a kiosk whose disk became read-only: its records are readable, not writable."""
    name = Path(path).name
    return (f"its disk has become read-only (a failing card or disk): nothing can be saved on it. Take the "
            f"records to HQ with `evac kiosk carry --db {path} --out FILE` (FILE on another disk, a USB stick), "
            f"or copy {name} together with {name}-wal and {name}-shm to another disk; then start the kiosk "
            "on a new disk")


# Below this much free space a database "failing to read or write" is a full disk: SQLite says disk
# I/O error (SQLITE_IOERR), not SQLITE_FULL, when it cannot even make its -shm file at start.
FULL_BELOW = 1 << 20


def disk_full(path: str | os.PathLike) -> bool:
    """Whether the disk holding `path` (a file, or the folder it would be in) is about full."""
    folder = Path(path)
    folder = folder if folder.is_dir() else folder.parent
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW
    except OSError:
        return False


def full_in_words(path: str | os.PathLike) -> str:
    return _full(path)[0]


def _full(path: str | os.PathLike) -> tuple[str, str]:
    name, free = Path(path).name, shutil.disk_usage(Path(path).parent).free // 1024
    return (f"the disk holding it is full ({free} KB free). "
            f"Make room by deleting photos, videos, logs or downloads on it; never delete {name}, {name}-wal or "
            f"{name}-shm (they hold the records). Then start again",
            f"ディスクがいっぱいです（空き {free} KB）。写真・動画・ログ・ダウンロードなどを消して空きを作り、"
            f"もう一度起動してください。{name}、{name}-wal、{name}-shm は記録なので消さないでください")


def in_words(exc: BaseException, path: str | os.PathLike | None = None) -> str:
    """SQLite's complaint as something a person at a shelter or HQ can act on; with the database's
    `path`, a full disk is said as full, whatever SQLite called it."""
    return _reason(exc, path)[0]


def in_japanese(exc: BaseException, path: str | os.PathLike | None = None) -> str:
    """in_words in Japanese; empty for a complaint SQLite's words alone tell (in_words gives them as they are)."""
    return _reason(exc, path)[1]


def _reason(exc: BaseException, path: str | os.PathLike | None) -> tuple[str, str]:
    text = str(exc)
    if path is not None and disk_full(path):
        return _full(path)
    if "file is not a database" in text or "not a database" in text:
        return ("this file is not a SQLite database (check --db: is it the right file?)",
                "SQLite のデータベースファイルではありません（--db が正しいファイルか確かめてください）")
    if "readonly" in text or "read-only" in text:
        return ("the file or its folder is read-only (check their permissions)",
                "ファイルかそのフォルダが読み取り専用です（権限を確かめてください）")
    if "unable to open" in text:
        return ("SQLite cannot open it (check that the folder exists and can be written to)",
                "SQLite が開けません（フォルダがあり、書き込めるかを確かめてください）")
    if "malformed" in text:
        return ("the file is damaged (SQLite finds it corrupt: a failing disk or a power cut); keep it, do not "
                "delete it", "ファイルが壊れています（ディスクの故障か停電）。ファイルは消さずに残してください")
    if "disk I/O" in text:
        return "the disk failed to read or write it", "ディスクの読み書きに失敗しました"
    return text, ""


def _companions(path: Path) -> list[Path]:
    """The -wal and -shm files beside a database file, those there are."""
    return [c for c in (Path(f"{path}-wal"), Path(f"{path}-shm")) if c.exists()]


def absent_or_empty(path: str | os.PathLike) -> bool:
    """No database yet at `path`: no file, or an empty one with no -wal or -shm beside it."""
    path = Path(path)
    try:
        return not path.exists() or (path.is_file() and path.stat().st_size == 0 and not _companions(path))
    except OSError:
        return False


def check(path: str | os.PathLike, expect: str, may_create: bool, creates: str, read_only: bool = False) -> None:
    """Refuse (DatabaseFileError) a path that cannot be `expect`'s database.  A missing file is
    allowed only when may_create, and only in a folder that exists; `creates` names the commands
    that make a new one, for the message ("`evac hq serve` or `evac hq init`").  `read_only`: the
    command only reads it (a read-only file or disk is no reason to refuse)."""
    path = Path(path)
    label, label_ja = f"{expect} database", f"{_WHOSE_JA[expect]}データベース"
    creates_ja = creates.replace("` or `", "` または `")
    cannot_open = f"{label_ja}（{path}）を開けません。"
    if not path.exists():
        if not may_create:
            raise DatabaseFileError(f"no {label} at {path} (check --db; {creates} makes a new one)",
                                    f"{path} に{label_ja}がありません。--db を確かめてください（新しく作るのは "
                                    f"{creates_ja} です）")
        if not path.parent.is_dir():
            raise DatabaseFileError(f"no folder {path.parent} for the {label} (check --db, or create the folder first)",
                                    f"{label_ja}を置くフォルダ {path.parent} がありません。--db を確かめるか、"
                                    "先にフォルダを作ってください")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DatabaseFileError(f"cannot create the {label} at {path}: the folder {path.parent} is read-only",
                                    f"{label_ja}（{path}）を作れません。フォルダ {path.parent} が読み取り専用です"
                                    "（フォルダの権限を確かめてください）")
        return
    if path.is_dir():
        raise DatabaseFileError(f"{path} is a folder, not a {label} file (check --db)",
                                f"{path} はフォルダで、{label_ja}のファイルではありません。--db を確かめてください")
    if path.stat().st_size == 0 and (not may_create or _companions(path)):
        # SQLite would quietly make it a brand-new database: after a power cut on a failing disk, the
        # records (in a -wal beside it, if anywhere) would be gone from view, a kiosk's outbox started
        # again from 1, HQ's picture started empty.  An empty file alone (a temporary file made for it)
        # is a new database, made only by a command that may make one.
        name = path.name
        ask, start = (("call HQ", "start the kiosk with `evac kiosk serve`") if expect == KIOSK else
                      ("restore HQ's backup or call the system's administrator", f"run {creates}"))
        ask_ja, start_ja = (("本部に連絡してください", "`evac kiosk serve` で端末を起動してください") if expect == KIOSK
                            else ("本部のバックアップから戻すか、システム管理者に連絡してください",
                                  f"{creates_ja} を実行してください"))
        raise DatabaseFileError(
            f"the {label} at {path} is empty (0 bytes): a power cut on a failing disk or SD card can leave it so. Keep it and "
            f"any {name}-wal and {name}-shm beside it (they may still hold records), and {ask}. If it was meant "
            f"to be a new database, delete the empty file and {start}",
            f"{label_ja}（{path}）が空（0 バイト）です。故障しかけたディスクや SD カードで停電があるとこうなります。"
            f"このファイルと横の {name}-wal、{name}-shm は記録が残っているかもしれないので消さずに、{ask_ja}。"
            f"新しいデータベースのつもりなら、空のファイルを消して {start_ja}")
    if read_only:
        pass
    elif expect == KIOSK and on_read_only_disk(path):
        raise DatabaseFileError(f"cannot open the {label} at {path}: {read_only_disk_in_words(path)}",
                                f"{cannot_open}ディスクが読み取り専用になり（カードかディスクの故障）、何も保存できません。"
                                f"`evac kiosk carry --db {path} --out FILE` で記録を別のディスク（USB メモリ）に書き出して"
                                "本部へ運び、新しいディスクで端末を起動してください")
    elif not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseFileError(f"cannot open the {label} at {path}: the file is read-only (check its permissions, "
                                "and that its disk is not mounted read-only)",
                                f"{cannot_open}ファイルが読み取り専用です（ファイルの権限と、ディスクが読み取り専用で"
                                "マウントされていないかを確かめてください）")
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseFileError(f"cannot open the {label} at {path}: its folder is read-only, and SQLite "
                                "writes its journal beside the file (check the folder's permissions)",
                                f"{cannot_open}フォルダが読み取り専用で、SQLite がファイルの横にジャーナルを書けません"
                                "（フォルダの権限を確かめてください）")
    elif unwritable := [c for c in _companions(path) if not os.access(c, os.R_OK | os.W_OK)]:
        # A read-only file's -shm and -wal are made read-only too (by a reading such as `evac kiosk
        # carry`), and stay so when the file's own permission is put right.
        names = " and ".join(str(c) for c in unwritable)
        raise DatabaseFileError(f"cannot open the {label} at {path}: {names} beside it "
                                f"{'is' if len(unwritable) == 1 else 'are'} read-only (give "
                                f"{'it' if len(unwritable) == 1 else 'them'} the same permissions as the file; "
                                "never delete them: they may hold records)",
                                f"{cannot_open}横の {'、'.join(str(c) for c in unwritable)} が読み取り専用です"
                                "（ファイルと同じ権限にしてください。記録が入っていることがあるので消さないでください）")
    found = kind(path, label, label_ja)
    if found in (None, expect):
        return
    if found == "other":
        raise DatabaseFileError(f"{path} is a SQLite database of something else, not a {label} (check --db)",
                                f"{path} は別のシステムの SQLite データベースで、{label_ja}ではありません。"
                                "--db を確かめてください")
    raise DatabaseFileError(f"{path} is {_WHOSE[found]} database, not {_WHOSE[expect]} (check --db)",
                            f"{path} は{_WHOSE_JA[found]}データベースで、{label_ja}ではありません。--db を確かめてください")
