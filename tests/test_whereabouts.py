from evac.whereabouts import CHECKED_IN, CHECKED_OUT, IN_TRANSIT, NOWHERE, fold, step


def test_checkin_places_a_person_and_counts_them():
    w = step(NOWHERE, "checkin", "H001", {"stay_type": "in_shelter"})
    assert (w.state, w.shelter_id, w.slot) == (CHECKED_IN, "H001", ("H001", "in_shelter"))


def test_checkin_elsewhere_moves_the_person():
    w = fold([("checkin", "H001", {"stay_type": "in_shelter"}), ("checkin", "H002", {"stay_type": "in_car"})])
    assert w.slot == ("H002", "in_car")


def test_a_late_checkout_from_the_old_shelter_does_not_remove_them_from_the_new_one():
    w = fold([("checkin", "H001", {}), ("checkin", "H002", {}), ("checkout", "H001", {})])
    assert w.slot == ("H002", "in_shelter")


def test_checkout_and_transfer_act_on_the_shelter_they_are_in():
    assert fold([("checkin", "H001", {}), ("checkout", "H001", {})]).state == CHECKED_OUT
    moved = fold([("checkin", "H001", {}), ("transfer", "H001", {"to_shelter_id": "H002"})])
    assert (moved.state, moved.shelter_id, moved.slot) == (IN_TRANSIT, "H002", None)


def test_stay_type_changes_only_where_they_are():
    w = fold([("checkin", "H001", {}), ("stay_type", "H001", {"stay_type": "at_home"}),
              ("stay_type", "H002", {"stay_type": "in_car"})])
    assert w.slot == ("H001", "at_home")


def test_checkout_of_someone_never_seen_changes_nothing():
    assert fold([("checkout", "H001", {})]) == NOWHERE
