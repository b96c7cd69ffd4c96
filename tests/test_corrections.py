"""evac.corrections: which identity a corrected person goes by, whatever order their events came in."""
from hypothesis import given, strategies as st

from evac.corrections import Said, current_identity, superseded_keys
from evac.events import CORRECTION, Person
from evac.identity import person_key

TYPO = Person("駿河 花子", "1960-03-14", "female", "藤守1243-5", "するが はなこ")
FIXED = Person("駿河 花子", "1960-03-04", "female", "藤守1234-5")
OTHER_HOME = Person("駿河 花子", "1960-03-04", "female", "焼津市本町1-1")


def said(order: int, person: Person, kind: str = "checkin", to: Person | None = None, household: str = "") -> Said:
    data = {"person": to.to_wire()} if kind == CORRECTION else {}
    return Said(f"{order:04d}", kind, person, data, household)


def key(p: Person) -> str:
    return person_key(p.name, p.birth_date, p.address)


def test_a_later_word_under_the_corrected_away_identity_is_not_news_about_the_name():
    now = current_identity([said(1, TYPO, household="hh-1"), said(2, TYPO, CORRECTION, FIXED),
                            said(3, TYPO, "status")])
    assert (now.person.birth_date, now.person.address, now.order) == ("1960-03-04", "藤守1234-5", "0002")
    # The household is not identity: it stands whichever name it was given under.  The kana was
    # said under the typo only, so it went with it (the tablet's correction carries the kana it shows).
    assert now.household_id == "hh-1" and now.person.name_kana == ""
    assert superseded_keys([said(2, TYPO, CORRECTION, FIXED)]) == {key(TYPO)}


def test_correcting_back_makes_the_first_identity_good_again():
    events = [said(1, TYPO), said(2, TYPO, CORRECTION, FIXED), said(3, FIXED, CORRECTION, TYPO), said(4, FIXED)]
    assert superseded_keys(events) == {key(FIXED)}
    assert current_identity(events).person.birth_date == TYPO.birth_date


def test_without_corrections_the_latest_word_wins_and_a_new_address_is_news():
    assert current_identity([said(1, FIXED), said(2, OTHER_HOME)]).person.address == "焼津市本町1-1"
    assert current_identity([]) is None


@given(st.permutations([said(1, TYPO), said(2, TYPO, CORRECTION, FIXED), said(3, TYPO, "status"),
                        said(4, FIXED, "needs"), said(5, FIXED, CORRECTION, OTHER_HOME), said(6, TYPO)]))
def test_the_order_of_arrival_does_not_matter(events):
    now = current_identity(events)
    assert (now.person.address, now.order) == ("焼津市本町1-1", "0005")
