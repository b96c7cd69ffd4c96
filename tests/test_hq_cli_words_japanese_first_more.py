"""More of what `evac hq …` tells HQ's operators, Japanese first, then English, the whole meaning in both
(the city's IT staff read Japanese): init, the staff commands, the wall display's, revoke-prereg and
import-records, and the warning when carried records were applied but inquiries were not all put back.
What the tests and scripts read on stdout stays there.  A real `evac` on a real SQLite HQ database."""
from __future__ import annotations

import sqlite3

from tests.conftest import run_evac
from tests.test_hq_cli_operator_words_japanese_first import japanese_then_english
from tests.test_prereg_manage import FAMILY
from tests.test_sync_http import checkin

PASSWORD = "correct horse battery"


def _has_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def test_init_and_the_staff_commands_say_what_they_did_japanese_first(tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    init = run_evac("hq", "init", "--db", str(hq_db))
    assert init.returncode == 0, init.stderr
    japanese_then_english(init.stdout, f"本部のデータベースを用意しました: {hq_db}（施設 212 か所）",
                          f"HQ database ready at {hq_db} (212 sites)")

    for name, role in (("boss", "lead"), ("sato", "desk")):
        added = run_evac("hq", "add-staff", "--db", str(hq_db), "--username", name, "--role", role,
                         input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    db = ("--db", str(hq_db))

    disabled = run_evac("hq", "disable-staff", *db, "--username", "sato")
    assert disabled.returncode == 0, disabled.stderr
    japanese_then_english(disabled.stdout, "職員 sato を無効にしました",
                          "staff member sato is disabled: logged out at their next request and refused from now on")
    line = disabled.stdout.strip()
    for ja in ("ログアウト", "ログインできません", "名前が残ります", "evac hq enable-staff"):
        assert ja in line.partition(" / ")[0], line

    enabled = run_evac("hq", "enable-staff", *db, "--username", "sato")
    assert enabled.returncode == 0, enabled.stderr
    japanese_then_english(enabled.stdout, "職員 sato は再び /staff/login でログインできます",
                          "staff member sato can log in again at /staff/login")

    password = run_evac("hq", "set-password", *db, "--username", "sato", input="another long password\n")
    assert password.returncode == 0, password.stderr
    japanese_then_english(password.stdout, "職員 sato のパスワードを変更しました。古いパスワードでのログインはすべて終了しました",
                          "password changed for sato: their log-ins with the old one have ended")

    role = run_evac("hq", "set-role", *db, "sato", "safety")
    assert role.returncode == 0, role.stderr
    japanese_then_english(role.stdout, "職員 sato の役割を safety（安否情報担当）にしました（前は desk）",
                          "staff member sato now has the role safety (was desk): their log-ins have ended")
    assert "次のログインから" in role.stdout.partition(" / ")[0], role.stdout
    same = run_evac("hq", "set-role", *db, "sato", "safety")
    assert same.returncode == 0, same.stderr
    japanese_then_english(same.stdout, "職員 sato の役割はすでに safety です。何も変更していません",
                          "staff member sato already has the role safety; nothing was changed")

    # A refusal (staff.py's words): Japanese first too, on stderr, nothing on stdout.
    for args, ja, en in ((("disable-staff", "--username", "nobody"), "'nobody' という職員はいません",
                          "there is no staff member called 'nobody'"),
                         (("disable-staff", "--username", "boss"), "boss は最後の有効な責任者（lead）のため無効にできません",
                          "boss is HQ's last enabled lead and cannot be disabled")):
        refused = run_evac("hq", *args, *db)
        assert refused.returncode == 2 and refused.stdout == "", refused.stdout
        assert refused.stderr.startswith("evac: "), refused.stderr
        japanese_then_english(refused.stderr, ja, en)
    boss = run_evac("hq", "add-staff", *db, "--username", "suzuki", "--role", "boss", input=PASSWORD + "\n")
    assert boss.returncode == 2 and boss.stdout == ""
    japanese_then_english(boss.stderr, "「boss」はHQ職員の役割ではありません。何も変更していません",
                          "'boss' is not an HQ staff role")
    assert boss.stderr.rstrip().endswith("; nothing was changed"), boss.stderr
    short = run_evac("hq", "set-password", *db, "--username", "sato", input="short\n")
    assert short.returncode == 2 and short.stdout == ""
    japanese_then_english(short.stderr, "パスワードは 10 文字以上にしてください", "the password must be at least 10 characters")

    # The wall display: the link alone on stdout (a script passes it on), the words on stderr.
    display = run_evac("hq", "add-display", *db, "--name", "hq-wall", "--base-url", "http://10.20.0.5:5000")
    assert display.returncode == 0, display.stderr
    assert display.stdout.startswith("http://10.20.0.5:5000/display/") and len(display.stdout.splitlines()) == 1
    japanese_then_english(display.stderr, "壁面表示「hq-wall」のリンクです", "the link of wall display 'hq-wall'")
    twice = run_evac("hq", "add-display", *db, "--name", "hq-wall")
    assert twice.returncode == 2 and twice.stdout == ""
    japanese_then_english(twice.stderr, "「hq-wall」という表示はすでにあります", "there is already a display called 'hq-wall'")
    revoked = run_evac("hq", "revoke-display", *db, "--name", "hq-wall")
    assert revoked.returncode == 0, revoked.stderr
    japanese_then_english(revoked.stdout, "壁面表示「hq-wall」を取り消しました", "wall display hq-wall is revoked")
    again = run_evac("hq", "revoke-display", *db, "--name", "hq-wall")
    assert again.returncode == 0, again.stderr
    japanese_then_english(again.stdout, "壁面表示「hq-wall」は", "wall display hq-wall was already revoked at")


def _registered(hq_db) -> tuple[str, str, str]:
    """Two pre-registrations in HQ's database as a family's form makes them, the first since changed by
    the family: (the first, the one its change stands as, another never changed)."""
    from hq_dashboard import create_app, prereg
    from hq_dashboard.db import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{hq_db}", "SECRET_KEY": "not used here"})
    with app.app_context():
        try:
            first, _qr, secret = prereg.register(db.session, FAMILY)
            standing, _qr = prereg.change(db.session, secret, {**FAMILY, "contact": "054-111-1111"})
            other, _qr, _secret = prereg.register(db.session, FAMILY)
        finally:
            db.session.remove()
            db.engine.dispose()
    return first.household_id, standing.household_id, other.household_id


def test_revoke_prereg_says_what_it_did_japanese_first(hq_initialised_sqlite, tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    first, standing, other = _registered(hq_db)

    done = run_evac("hq", "revoke-prereg", "--db", str(hq_db), other)
    assert done.returncode == 0, done.stderr
    japanese_then_english(done.stdout, f"事前登録 {other} を取り消しました。端末は次の同期のあと、この QR を受け付けません",
                          f"revoked {other}; kiosks refuse its QR after their next sync")

    replaced = run_evac("hq", "revoke-prereg", "--db", str(hq_db), first)
    assert replaced.returncode == 0, replaced.stderr
    japanese_then_english(replaced.stdout, f"事前登録 {first} は家族の変更で {standing} に置き換わっていたため、"
                                           f"今有効な {standing} を取り消しました",
                          f"{first} was replaced by the family's change; revoked the registration that stood, "
                          f"{standing}; kiosks refuse its QR after their next sync")

    twice = run_evac("hq", "revoke-prereg", "--db", str(hq_db), standing)
    assert twice.returncode == 0, twice.stderr
    japanese_then_english(twice.stdout, f"事前登録 {standing} は ", f"{standing} was already revoked (")
    line = twice.stdout.strip()
    assert "すでに取り消されています" in line.partition(" / ")[0] and " UTC" in line.partition(" / ")[0], line
    assert line.endswith("; kiosks refuse its QR"), line


def test_import_records_says_what_it_applied_and_warns_japanese_first(hq_initialised_sqlite, tmp_path):
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    token = run_evac("hq", "enroll-kiosk", "--db", str(hq_db), "--shelter", "H001").stdout.strip()
    kiosk_id = token.split(".")[0]
    kiosk = tmp_path / "kiosk.sqlite3"
    for name in ("津田 一郎", "津田 花子"):
        checkin(kiosk, name)
    stick = tmp_path / "records.json"
    assert run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick), "--token", token).returncode == 0

    applied = run_evac("hq", "import-records", "--db", str(hq_db), str(stick))
    assert applied.returncode == 0, applied.stderr
    japanese_then_english(applied.stdout, f"端末 {kiosk_id}（H001 で登録）の記録を取り込みました。ファイルの記録 2 件のうち、"
                                          "本部に新しく入ったのは 2 件、本部にすでにあったのは 0 件です。本部はこの端末の"
                                          "記録を 2 番まで受け取っています",
                          f"kiosk {kiosk_id} (enrolled at H001): 2 record(s) in the file, 2 new at HQ, 0 HQ already "
                          "held; HQ now holds up to record 2 of this kiosk")
    assert applied.stderr == "", applied.stderr

    # The records are applied, but the inquiries they answer cannot be read to put them back to staff.
    checkin(kiosk, "津田 三郎")
    assert run_evac("kiosk", "carry", "--db", str(kiosk), "--out", str(stick), "--token", token).returncode == 0
    with sqlite3.connect(hq_db) as conn:
        conn.execute("ALTER TABLE inquiries RENAME TO inquiries_away")
    warned = run_evac("hq", "import-records", "--db", str(hq_db), str(stick))
    assert warned.returncode == 0, warned.stderr
    assert "本部に新しく入ったのは 1 件" in warned.stdout and "1 new at HQ" in warned.stdout, warned.stdout
    assert "Traceback" not in warned.stderr
    japanese_then_english(warned.stderr, "記録は取り込みましたが、",
                          "warning: the records were applied, but the family inquiries they answer were not all "
                          "put back to staff")
    line = next(line for line in warned.stderr.splitlines() if "記録は取り込みましたが" in line)
    japanese, _, english = line.partition(" / ")
    assert line.startswith("evac: 警告: "), line
    for ja in ("職員の確認待ちに戻せませんでした", "no such table: inquiries", "もう一度", "安全", "再起動"):
        assert ja in japanese, line
    for en in ("no such table: inquiries", "run the import again, which is safe",
               "restart HQ, which looks at every inquiry when it starts"):
        assert en in english, line
    assert not _has_japanese(english), line


def test_serve_list_staff_pfif_and_retire_prereg_key_say_it_japanese_first(hq_initialised_sqlite, tmp_path):
    from tests.conftest import Server, evac_cmd, free_port
    from tests.test_pfif import OTHER_FINDER
    hq_db = tmp_path / "hq.sqlite3"
    hq_initialised_sqlite(hq_db)
    db = ("--db", str(hq_db))

    empty = run_evac("hq", "list-staff", *db)
    assert empty.returncode == 0 and empty.stdout == "", empty.stdout
    japanese_then_english(empty.stderr, "本部にはまだ職員のアカウントがありません", "HQ has no staff accounts yet")
    assert "evac hq add-staff --role lead" in empty.stderr.partition(" / ")[0]

    out = tmp_path / "yaizu.pfif.xml"
    exported = run_evac("hq", "export-pfif", *db, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    japanese_then_english(exported.stderr, "公開に同意した人の記録 0 件を書き出しました",
                          "exported 0 person record(s) with public consent")
    feed = tmp_path / "shizuoka.xml"
    feed.write_text(OTHER_FINDER.format(source_date="2026-11-25T02:00:00Z"), encoding="utf-8")
    imported = run_evac("hq", "import-pfif", *db, str(feed))
    assert imported.returncode == 0, imported.stderr
    japanese_then_english(imported.stdout, "追加 1 件、更新 0 件、取り込まなかった記録 0 件", "added 1, updated 0, skipped 0")

    # HQ's first key signs; a new one signs at once (--now), and the first is retired.
    old = run_evac("hq", "rotate-prereg-key", *db).stdout.strip()
    assert run_evac("hq", "rotate-prereg-key", *db, "--now").returncode == 0
    retired = run_evac("hq", "retire-prereg-key", *db, old)
    assert retired.returncode == 0, retired.stderr
    japanese_then_english(retired.stdout, f"事前登録の鍵 {old} を取り消しました（", f"retired {old} (at ")
    assert "この鍵で署名された QR を受け付けません" in retired.stdout, retired.stdout
    assert "kiosks refuse QRs signed with it after their next sync" in retired.stdout, retired.stdout

    port = free_port()
    server = Server(evac_cmd("hq", "serve", *db, "--port", str(port)), f"http://127.0.0.1:{port}",
                    tmp_path / "hq.log", "/api/v1/shelters")
    try:
        japanese_then_english(server.log_path.read_text(), f"本部を http://127.0.0.1:{port} で起動しました（sqlite）",
                              f"HQ serving on http://127.0.0.1:{port} (sqlite)")
    finally:
        server.stop()
