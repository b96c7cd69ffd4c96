"""A stream of simulated evacuees for the demo: arrivals, departures and transfers at kiosks.

The evacuees are synthetic (Faker's ja_JP locale); they go through the kiosks'
own HTTP API exactly as the touch screen does.
"""
from __future__ import annotations

import json
import random
import urllib.request
from dataclasses import dataclass, field

from faker import Faker

# Town names of Yaizu (焼津市) for plausible synthetic addresses.
TOWNS = ["本町", "焼津", "中港", "小川", "西小川", "石津", "藤守", "一色", "三ケ名", "道原", "大覚寺",
         "田尻", "浜当目", "大島", "相川", "宗高", "高新田", "利右衛門", "五ケ堀之内", "駅北"]


@dataclass
class DemoKiosk:
    url: str
    shelter_id: str
    present: list[list[dict]] = field(default_factory=list)  # households checked in here


class Simulator:
    def __init__(self, kiosks: list[DemoKiosk], seed: int | None = None):
        self.kiosks = kiosks
        self.rng = random.Random(seed)
        self.fake = Faker("ja_JP")
        if seed is not None:
            self.fake.seed_instance(seed)
        self.log: list[str] = []

    def _household(self) -> list[dict]:
        family = self.fake.last_name()
        address = (f"静岡県焼津市{self.rng.choice(TOWNS)}{self.rng.randint(1, 2500)}"
                   f"-{self.rng.randint(1, 30)}")
        members = []
        for _ in range(self.rng.choice((1, 1, 2, 2, 3, 4))):
            sex = self.rng.choice(("female", "male"))
            given = self.fake.first_name_female() if sex == "female" else self.fake.first_name_male()
            born = self.fake.date_of_birth(minimum_age=0, maximum_age=95)
            members.append({"name": f"{family} {given}", "birth_date": born.isoformat(), "sex": sex,
                            "address": address})
        return members

    @staticmethod
    def _post(url: str, body: dict) -> dict:
        req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def step(self) -> str:
        kiosk = self.rng.choice(self.kiosks)
        r = self.rng.random()
        if not kiosk.present or r < 0.6:
            household = self._household()
            self._post(f"{kiosk.url}/api/checkin", {"persons": household})
            kiosk.present.append(household)
            return f"{kiosk.shelter_id}: {len(household)} arrived ({household[0]['name']} …)"
        household = kiosk.present.pop(self.rng.randrange(len(kiosk.present)))
        if r < 0.8 or len(self.kiosks) == 1:
            for m in household:
                self._post(f"{kiosk.url}/api/checkout", m)
            return f"{kiosk.shelter_id}: {len(household)} left ({household[0]['name']} …)"
        dest = self.rng.choice([k for k in self.kiosks if k is not kiosk])
        for m in household:
            self._post(f"{kiosk.url}/api/transfer", {**m, "to_shelter_id": dest.shelter_id})
        self._post(f"{dest.url}/api/checkin", {"persons": household})
        dest.present.append(household)
        return f"{kiosk.shelter_id} → {dest.shelter_id}: {len(household)} moved ({household[0]['name']} …)"
