"""Estimated shelter capacity from floor area.

Yaizu's 指定避難所 list gives no 収容人数 (capacity) column, only the floor area in m²
(see data/SOURCE.md), so capacity here is an *estimate*: floor(area / area per person).

Standard library only.
"""
from __future__ import annotations

import math

__all__ = ["DEFAULT_AREA_PER_PERSON_M2", "capacity_from_area"]

# Default floor area per evacuee, in m².
#
# 3.5 m² is the Sphere Handbook's minimum covered living space per person (the humanitarian
# minimum standard; it excludes kitchens, toilets, washing areas and the like). After the 2024 Noto
# Peninsula earthquake, the Cabinet Office (内閣府, 防災担当) revised its
# 「避難所における良好な生活環境の確保に向けた取組指針」 in December 2024 and points to the Sphere
# standards as the level shelters should aim for, including at least 3.5 m² of living space per person.
#
# Many Japanese municipal plans have traditionally assumed about 2 m² per person (roughly one tatami,
# i.e. a sleeping space). That gives a larger headcount for the same hall; a city that plans on that
# basis can set its own figure through configuration and pass it as `area_per_person_m2`.
DEFAULT_AREA_PER_PERSON_M2 = 3.5


def capacity_from_area(area_m2: float | None,
                       area_per_person_m2: float = DEFAULT_AREA_PER_PERSON_M2) -> int | None:
    """floor(area_m2 / area_per_person_m2), or None when the area is unknown.

    Raises ValueError when area_per_person_m2 is not a positive finite number, or area_m2 is negative
    or not finite.
    """
    per_person = _number(area_per_person_m2, "area_per_person_m2")
    if per_person <= 0:
        raise ValueError(f"area_per_person_m2 must be a positive number of m², got {area_per_person_m2!r}")
    if area_m2 is None:
        return None
    area = _number(area_m2, "area_m2")
    if area < 0:
        raise ValueError(f"area_m2 must be a non-negative number of m², got {area_m2!r}")
    # A tiny tolerance so that a quotient like 0.3 / 0.1 = 2.9999999999999996 still counts as 3.
    return math.floor(area / per_person + 1e-9)


def _number(value: object, label: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number of m², got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{label} must be a finite number of m², got {value!r}")
    return number
