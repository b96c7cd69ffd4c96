"""An older release's HQ started today: that its secret key was copied beside its database is said to HQ's
operator Japanese first, then the English ("evac: 日本語 / English"), as HQ's other commands say theirs.
The real `evac hq init` on an older release's real SQLite database."""
from __future__ import annotations

from tests.refusal_words import JAPANESE
from tests.test_hq_secret_key_upgrade import OLD_KEY, evac_in, old_install  # noqa: F401  (a fixture)


def test_the_key_copied_beside_the_database_is_said_japanese_first(old_install):  # noqa: F811
    db, elsewhere = old_install
    legacy = db.parent / "hq-secret-key"
    legacy.write_text(OLD_KEY + "\n")
    done = evac_in(elsewhere, "hq", "init", "--db", str(db))
    assert done.returncode == 0, done.stderr
    key = db.with_name("hq.sqlite3.secret-key")
    english = f"HQ's secret key now lives beside its database: copied {legacy} to {key}"
    (line,) = [line for line in done.stderr.splitlines() if english in line]
    assert line.startswith("evac: "), line
    ja, slash, en = line.removeprefix("evac: ").partition(" / ")
    assert slash and en == english and not JAPANESE.search(en), line
    assert JAPANESE.search(ja) and "秘密鍵" in ja and f"{legacy} を {key} にコピーしました" in ja, line
