"""What identity form 1 (evac/identity.py before IDENTITY_FORM 2, as of commit 9c806a6) made of the
addresses the re-key tests use: its code is not in this release, and a test must not need the history
of the repository (CI may check out one commit).  Names differ between the forms only by the 異体字
folded since, which normalize_name(name, 1) still knows; each address here is written out as form 1's
code gave it, and two keys are pinned from that code."""
from __future__ import annotations

import hashlib
import unicodedata

from evac.identity import normalize_name

ADDRESSES = {
    "静岡県焼津市本町五丁目９番１号\u3000焼津ハイツ２０３": "本町5-9-1号焼津ハイツ203",
    "本町5-9-1 焼津ハイツ203号室": "本町5-9-1焼津ハイツ203号室",
    "焼津市本町三丁目4番5号 コーポ大井101号室": "本町3-4-5号コーポ大井101号室",
    "焼津市本町三丁目4番5号 コーポ大井102号室": "本町3-4-5号コーポ大井102号室",
    "焼津市本町三丁目4番5号 コーポ大井103号室": "本町3-4-5号コーポ大井103号室",
    "焼津市本町三丁目4番5号 コーポ大井101": "本町3-4-5号コーポ大井101",
    "焼津市藤守1234-52号棟": "藤守1234-52号棟",
    "焼津市藤守1234-5 二号棟": "藤守1234-52号棟",   # form 1 joined the building's number to the lot
}
# person_key as form 1's own code gave it, for two of them.
PINNED = {("焼津 太郎", "1948-03-03", "静岡県焼津市本町五丁目９番１号\u3000焼津ハイツ２０３"): "nba:4a0503a1c7d12620138ddd9e2500be39",
          ("大井 花子", "1950-07-07", "焼津市本町三丁目4番5号 コーポ大井101号室"): "nba:2477f6bb48f380d530da07be77965bb1"}


def person_key(name: str, birth_date: str, address: str) -> str:
    """Form 1's key of someone at one of ADDRESSES (a KeyError names an address not written out here)."""
    born = unicodedata.normalize("NFKC", birth_date).strip()
    fields = "\x1f".join((normalize_name(name, 1), born, ADDRESSES[address]))
    return "nba:" + hashlib.sha256(fields.encode()).hexdigest()[:32]
