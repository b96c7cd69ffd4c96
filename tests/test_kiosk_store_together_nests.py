"""KioskStore.together inside another is part of it: one transaction, all of it or none (the inner one used to
end the outer one's mark, and the next write began a transaction inside the open one).  A real kiosk database."""
from __future__ import annotations

import pytest

from evac.events import Person
from kiosk.store import KioskStore

ONE, TWO = Person("入れ子 一", "1970-01-01", "male", "焼津市本町1-1"), Person("入れ子 二", "1971-01-01", "female",
                                                                         "焼津市本町1-1")


def test_together_inside_together_is_one_transaction(tmp_path):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            with store.together():
                with store.together():
                    store.check_in("H031", [ONE])
                store.check_in("H031", [TWO])
                raise RuntimeError("a power cut, say")
        assert store.db.execute("SELECT count(*) FROM events").fetchone() == (0,)
        with store.together():
            with store.together():
                store.check_in("H031", [ONE])
            store.check_in("H031", [TWO])
        assert store.db.execute("SELECT count(*) FROM events WHERE body LIKE '%checkin%'").fetchone() == (2,)
    finally:
        store.close()
