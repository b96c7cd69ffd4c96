"""HQ's human pages.  The full map and dashboard come with the map issue; this is the occupancy table."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from .db import db
from .models import Kiosk, SelfReportCount, Shelter

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    shelters = db.session.execute(
        select(Shelter).order_by(Shelter.occupancy.desc(), Shelter.id)).scalars().all()
    kiosks = db.session.execute(select(Kiosk).order_by(Kiosk.id)).scalars().all()
    totals = {"occupancy": sum(s.occupancy for s in shelters), "at_home": sum(s.at_home for s in shelters),
              "in_car": sum(s.in_car for s in shelters)}
    self_reports = dict(db.session.execute(select(SelfReportCount.place, SelfReportCount.count)).all())
    return render_template("index.html", shelters=shelters, kiosks=kiosks, totals=totals, self_reports=self_reports)


@bp.get("/favicon.ico")
def favicon():
    """No icon, and no 404 in every browser console either."""
    return "", 204
