"""What HQ calls a site's kind, status, suitability and its people's needs, in the words HQ's staff read.

One place for them: the pages (template filters), the CSV export and the map's popups (the map page
hands these words to static/map.js, which keeps no copy) say a site the same way.  The codes stay the codes, for programs."""
from __future__ import annotations

from evac.disasters import AT_RISK, HAZARD_LABELS, SUITABLE, UNSUITABLE

KIND_LABELS = {"shelter": "指定避難所", "emergency_space": "指定緊急避難場所", "tsunami_building": "津波避難ビル等"}
# "closed" is a shelter its staff closed on the tablet (閉鎖, as the tablet says), "not_opened" one never opened.
STATUS_LABELS = {"open": "開設", "not_opened": "未開設", "closed": "閉鎖", "full": "満員"}
# The map's legend: what each look of a marker (situation.PALETTE) means.
LOOK_LABELS = {"low": "50%未満", "half": "50–80%", "most": "80–100%", "full": "満員・超過",
               "no_capacity": "収容目安なし（避難者あり）", "empty": "未開設・閉鎖（無人）",
               "closed_people": "閉鎖（避難者・移動中の人あり）"}
# A table cell (the dashboard, the CSV) ...
SUITABILITY_LABELS = {SUITABLE: "○", UNSUITABLE: "対象外", AT_RISK: "危険区域内"}
# ... and what a map popup says after the disaster's name.
SUITABILITY_NOTES = {SUITABLE: "", UNSUITABLE: "この災害の指定なし（対象外）", AT_RISK: "指定されているが危険区域内"}
NEEDS_LABELS = {"elderly": "高齢", "disability": "障害", "pregnancy": "妊娠", "infant": "乳幼児",
                "allergy": "アレルギー", "medication": "服薬", "dialysis": "透析", "pets": "ペット",
                "interpreter": "通訳", "care": "要介護"}


def word(labels: dict[str, str], code: str) -> str:
    """The word for a code; a code HQ has no word for yet is shown as it is, never as nothing."""
    return labels.get(code, code)



def map_words() -> dict[str, dict[str, str]]:
    """Every code the map's popups put into words, for static/map.js."""
    return {"kind": KIND_LABELS, "status": STATUS_LABELS, "suitability": SUITABILITY_NOTES,
            "needs": NEEDS_LABELS, "hazards": HAZARD_LABELS}
