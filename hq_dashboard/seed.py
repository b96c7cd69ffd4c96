"""Seed HQ's shelter table from the city's open data in data/."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evac.capacity import capacity_from_area
from evac.shelters import Site, default_data_dir, load_yaizu_sites

from .models import Shelter


def shelter_from_site(site: Site, area_per_person_m2: float) -> Shelter:
    return Shelter(
        id=site.id, name=site.name, name_kana=site.name_kana, kind=site.kind, address=site.address,
        lat=site.lat, lon=site.lon, area_m2=site.area_m2,
        capacity=capacity_from_area(site.area_m2, area_per_person_m2),
        hazards=" ".join(site.hazards), phone=site.phone, source=site.source,
        opened=False, opened_order="", occupancy=0, at_home=0, in_car=0,
    )


def seed_if_empty(session: Session, area_per_person_m2: float, data_dir: Path | None = None) -> int:
    """Load Yaizu's 212 sites when HQ has none; returns how many were added."""
    # Two HQ commands starting together on a new database: on PostgreSQL the second waits here, then
    # finds the sites; on SQLite its insert finds them there and is given up.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(862214)"))
    if session.execute(select(func.count()).select_from(Shelter)).scalar():
        session.commit()
        return 0
    sites = load_yaizu_sites(data_dir or default_data_dir())
    session.add_all(shelter_from_site(s, area_per_person_m2) for s in sites)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return 0
    return len(sites)
