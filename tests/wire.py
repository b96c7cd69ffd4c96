"""Building kiosk batches by hand for HQ tests."""
from __future__ import annotations

from evac.hlc import pack


class KioskStream:
    """The events one kiosk database would write, with its own gap-free sequence."""

    def __init__(self, device_id: str, shelter_id: str = "H001", start_ms: int = 1_764_000_000_000):
        self.device_id, self.shelter_id = device_id, shelter_id
        self.events: list[dict] = []
        self.ms = start_ms

    def add(self, type_: str, person: dict | None, data: dict | None = None, shelter_id: str | None = None,
            at_ms: int | None = None, household_id: str = "") -> dict:
        self.ms = at_ms if at_ms is not None else self.ms + 1000
        event = {"kiosk_id": self.device_id, "seq": len(self.events) + 1, "hlc": pack(self.ms), "type": type_,
                 "shelter_id": shelter_id or self.shelter_id, "data": data or {}}
        if person is not None:
            event["person"] = person
        if household_id:
            event["household_id"] = household_id
        self.events.append(event)
        return event

    def checkin(self, person, stay_type="in_shelter", **kw):
        return self.add("checkin", person, {"stay_type": stay_type}, **kw)


def person(name="焼津 太郎", birth="1948-03-03", sex="male", address="静岡県焼津市本町5-9-1", **extra):
    return {"name": name, "birth_date": birth, "sex": sex, "address": address, **extra}
