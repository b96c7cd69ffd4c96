"""HQ's JSON API: kiosk sync (up and down) and the shelter GeoJSON."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
import hashlib
import hmac
import json

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from evac.disclosure import protection_digests
from evac.events import IC_TOKEN_RE, ID_RE

from . import left_elsewhere, notify, prereg, safety
from .db import WriterBusy, db, is_busy, lock_wait_at_most, one_writer
from .enrollment import AuthError, authenticate, note_unknown_kiosk
from .errors import json_error
from .json_body import NotGzip, UnreadableBody, json_object
from .merge import BatchRejected, apply_batch, latest_order, note_refusal
from .models import HQMeta, IcLink, Kiosk, Person, Shelter
from .prereg_pages import PREREG_LIMIT

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, code: str, message: str, **details):
    return jsonify({"error": code, "message": message, **details}), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    # HQ's own failure (a 500: a database gone, a bug) as well as a request it cannot take: in Japanese
    # and English, as the kiosk shows the message to its staff (not werkzeug's English description).
    return json_error(exc, {413: "batch_too_large"})


def _kiosk() -> Kiosk:
    return authenticate(db.session, request.headers.get("Authorization"))


@bp.errorhandler(AuthError)
def _auth_error(exc: AuthError):
    if exc.code == "unknown_kiosk":   # HQ staff are told too (the dashboard), not only the kiosk's
        note_unknown_kiosk(db.session, request.headers.get("Authorization"))
    return _error(401, exc.code, exc.message)


# How long a kiosk's sync waits for the database while others write: under the kiosk's 15 s timeout.
SYNC_WRITER_WAIT_S = 10.0


def _busy():
    return _error(503, "busy", "本部が混み合っています。端末が自動で送り直します。 / HQ is busy; the kiosk retries")


def _hlc():
    return current_app.extensions["hlc"]


def _received(conn) -> int:
    """HQ's timestamp for a batch arriving now (merge.apply_events orders no record later).  A new HQ
    process first takes in the latest order HQ has given, its own clock starting afresh (or set back):
    a record written after its kiosk heard HQ's answer is then still ordered after what HQ had."""
    clock = _hlc()
    if not current_app.extensions.get("hlc_caught_up"):
        clock.adopt(latest_order(conn))
        current_app.extensions["hlc_caught_up"] = True
    return clock.tick()


@bp.post("/sync")
def sync():
    kiosk = _kiosk()
    kiosk_id = kiosk.id
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip":   # a kiosk on a slow uplink; too large once decompressed is a 413 as a plain body
        try:
            request.inflate_gzip()
        except NotGzip as exc:
            return _error(400, "malformed_batch", f"the request body is marked gzip (Content-Encoding) but is not "
                                                  f"valid gzip ({exc}); nothing was saved")
    elif encoding not in ("", "identity"):
        return _error(415, "unsupported_encoding", f"HQ takes a batch as JSON, plain or gzipped (Content-Encoding: "
                                                   f"gzip), not '{encoding[:40]}'; nothing was saved")
    try:
        body = json_object(request)
    except UnreadableBody as exc:
        more = " with 'device_id' and 'events'" if exc.why == "must be a JSON object" else ""
        return _error(exc.status, "unsupported_media_type" if exc.status == 415 else "malformed_batch",
                      f"the batch {exc.why}{more}; nothing was saved")
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not device_id or len(device_id) > 64:
        return _error(400, "malformed_batch", "'device_id' (the kiosk database's id) is missing")
    if not ID_RE.match(device_id):
        return _error(400, "malformed_batch", "'device_id' may only contain letters, digits and . _ : -")
    # Where this kiosk stopped reading HQ's word on its people seen elsewhere since (hq_dashboard.left_elsewhere);
    # kiosks older than it do not ask, and their answer is as it was.
    after = body.get("left_elsewhere_after")
    if after is not None and not left_elsewhere.whole_number(after):
        return _error(400, "malformed_batch", "'left_elsewhere_after' (the last word on its people this kiosk "
                                              "took) must be a whole number from 0")
    # The highest record the kiosk has written (HQ's dashboard shows how many it has not received yet);
    # kiosks older than it do not say.
    last_seq = body.get("last_seq")
    if last_seq is not None and not left_elsewhere.whole_number(last_seq):
        return _error(400, "malformed_batch", "'last_seq' (the highest record the kiosk has written) must be a "
                                              "whole number from 0")
    db.session.rollback()  # authentication's read must not hold a snapshot into the write
    # While another write holds the database long (many kiosks catching up), a sync waits so long and
    # is then told HQ is busy: the kiosk retries with backoff, instead of HQ's threads filling up with
    # requests the kiosks have given up on (they wait 15 s) while HQ's pages stop answering.
    wait_s = current_app.config.get("SYNC_WRITER_WAIT_S", SYNC_WRITER_WAIT_S)
    try:
        with one_writer(db.engine, wait_s), db.engine.begin() as conn, lock_wait_at_most(conn, wait_s):
            result = apply_batch(conn, kiosk_id, device_id, body.get("events"), last_seq=last_seq,
                                 received=_received(conn))
    except WriterBusy:
        return _busy()
    except OperationalError as exc:
        if not is_busy(exc):
            raise
        return _busy()
    except BatchRejected as exc:
        try:
            with one_writer(db.engine, wait_s), db.engine.begin() as conn, lock_wait_at_most(conn, wait_s):
                note_refusal(conn, kiosk_id, exc, body.get("events"), last_seq)
        except (SQLAlchemyError, WriterBusy):
            current_app.logger.exception("could not note kiosk %s's refused batch", kiosk_id)
        return jsonify(exc.to_json()), exc.status
    events = body["events"]
    if events:
        _hlc().receive(max(e["hlc"] for e in events))
    if result.applied:   # inquiries these people's records answer go back to staff; news for families who asked
        notify.after_records(current_app._get_current_object(), safety.birth_dates_of(events))
    answer = {"acked_seq": result.acked_seq, "applied": result.applied,
              "duplicates": result.duplicates, "hlc": _hlc().tick(), "config_version": _config_version()}
    if after is not None:
        with db.engine.connect() as conn:
            answer["left_elsewhere"] = left_elsewhere.since(
                conn, device_id, after, left_elsewhere.last_taken(body.get("left_elsewhere_last")))
    return jsonify(answer)


@bp.post("/prereg")
@PREREG_LIMIT   # one budget with the page (hq_dashboard.prereg_pages)
def preregister():
    """Register a household ahead of time; the answer carries the text of its signed QR and the household's
    secret link to change or cancel it (given this once: HQ keeps only its hash)."""
    from .prereg_manage import manage_url
    try:
        household, qr, secret = prereg.register(db.session, json_object(request))
    except UnreadableBody as exc:
        return _error(exc.status if exc.status == 415 else 422, "invalid_registration",
                      f"the registration {exc.why}", field="form")
    except prereg.PreregError as exc:
        return _error(422, "invalid_registration", exc.message, field=exc.field)
    return jsonify({"household_id": household.household_id, "qr": qr, "expires": household.expires,
                    "members": [{"prereg_id": m.prereg_id, "name": m.name} for m in household.members],
                    "manage_url": manage_url(secret)}), 201


def _ic_token_key() -> str:
    """The key of the IC-card token hash, the same at every kiosk: kept in the database (hq_meta) once
    HQ has started on it, so that a new secret key (rotated, or lost with the machine) does not make
    every card linked so far stop finding its person."""
    kept = db.session.scalar(select(HQMeta.value).where(HQMeta.name == IC_TOKEN_KEY))
    return kept or derived_ic_token_key(current_app.config["SECRET_KEY"])


IC_TOKEN_KEY = "ic_token_key"


def derived_ic_token_key(secret: str) -> str:
    # How the key was made before it was kept: derived from HQ's secret, so existing links keep working.
    return hmac.new(secret.encode(), b"ic-token-key", hashlib.sha256).hexdigest()


def keep_ic_token_key(session, secret: str) -> None:
    """Write the IC token key into the database if it is not there yet (HQ's start)."""
    if session.get(HQMeta, IC_TOKEN_KEY) is None:
        session.add(HQMeta(name=IC_TOKEN_KEY, value=derived_ic_token_key(secret)))
        try:
            session.commit()
        except IntegrityError:   # another HQ command starting on this database wrote it just now
            session.rollback()


def _config_version(protected: list[str] | None = None, shelters: list[Shelter] | None = None) -> str:
    """Changes whenever what kiosks hold offline changes, so they fetch it again at once.  `shelters`: the
    list the configuration sends, so that its version is of that list (a site opened between two reads
    would leave the kiosk with the list before it under the version after it)."""
    keys = prereg.public_keys(db.session)
    revoked = prereg.revoked_ids(db.session)
    count = db.session.scalar(select(func.count()).select_from(Shelter)) if shelters is None else len(shelters)
    # The IC-card token key too (a digest of it): kiosks must hash cards as HQ does from the next sync.
    ic_key = hashlib.sha256(_ic_token_key().encode()).hexdigest()
    return hashlib.sha256(json.dumps([sorted(keys), revoked, count, ic_key,
                                      _protected() if protected is None else protected,
                                      _opened_or_closed(shelters)]).encode()).hexdigest()[:16]


def _opened_or_closed(shelters: list[Shelter] | None = None) -> list[list[str]]:
    """Each site opened or closed by its staff, and which: a kiosk that holds one as not opened leaves it out
    of the places an evacuee may move to, and its tablet asks for an override to send anyone there.  Not
    "full": a count crossing a capacity would send every kiosk to fetch the whole list; it comes with the
    periodic fetch (kiosk.sync.CONFIG_EVERY_S).  An older kiosk only compares the version: it takes these too."""
    if shelters is None:
        rows = db.session.execute(select(Shelter.id, Shelter.opened, Shelter.opened_order)
                                  .where(or_(Shelter.opened.is_(True), Shelter.opened_order != ""))).all()
    else:
        rows = [(s.id, s.opened, s.opened_order) for s in shelters]
    # (the Shelter.status words; sorted here, not by the database, whose collation may differ)
    return sorted([sid, "open" if opened else "closed"] for sid, opened, order in rows if opened or order)


def _protected() -> list[str]:
    """Whom no kiosk may show behind a household QR or an IC card (災対法 §86-15): never-disclose reaches
    every shelter, not only the one whose staff set it, so no kiosk answers differently for them; and it
    reaches everyone who is or was in a household the protected person is or was in, as inquiries do
    (safety.protected_identities: a later change of household loses no protection)."""
    return sorted(protection_digests(bytes.fromhex(_ic_token_key()),
                                     safety.protected_identities(db.session)))


@bp.get("/kiosk/config")
def kiosk_config():
    """What a kiosk needs offline: who it is, where, the shelter list, and what it checks QRs with."""
    kiosk = _kiosk()
    shelters = list(db.session.execute(select(Shelter).order_by(Shelter.id)).scalars())
    protected = _protected()   # read once, as the shelters: the version is made of them too
    return jsonify({
        "kiosk_id": kiosk.id, "shelter_id": kiosk.shelter_id, "acked_seq": kiosk.high_seq,
        "hlc": _hlc().tick(), "config_version": _config_version(protected, shelters),
        "prereg_keys": prereg.public_keys(db.session), "revoked": prereg.revoked_ids(db.session),
        "ic_token_key": _ic_token_key(), "protected": protected,
        # Each site's status as HQ knows it (open, full, closed by its staff, not opened), for a kiosk to warn
        # before sending someone on to a closed or full shelter.  Kiosks that know no status take the list
        # as before (KioskStore._put_shelters reads the fields it knows).  A site opened or closed is in
        # config_version (_opened_or_closed): every kiosk fetches the list on its next sync.  "Full" is not:
        # a count crossing a capacity would have every kiosk fetch the whole list again; it comes with the
        # periodic fetch (kiosk.sync.CONFIG_EVERY_S) or any other change.
        "shelters": [{"id": s.id, "name": s.name, "name_kana": s.name_kana, "kind": s.kind,
                      "address": s.address, "capacity": s.capacity, "lat": s.lat, "lon": s.lon,
                      "status": s.status}
                     for s in shelters],
    })


@bp.get("/ic/<token>")
def ic_card(token: str):
    """Whose linked IC card this is, for a kiosk at another shelter than the one that linked it."""
    _kiosk()
    if not IC_TOKEN_RE.match(token):
        return _error(400, "bad_ic_token", "an IC card token is 'ic:' and 32 hexadecimal digits")
    person = db.session.execute(
        select(Person).join(IcLink, IcLink.person_id == Person.id).where(IcLink.token == token)).scalar()
    # A protected person's card answers exactly as a card nobody linked: any kiosk may ask.
    if person is None or safety.is_protected(person, safety.protected_identities(db.session, person.birth_date)):
        return _error(404, "unknown_ic_card", "no one is linked to this IC card yet")
    return jsonify({"person": {"name": person.name, "name_kana": person.name_kana, "birth_date": person.birth_date,
                               "sex": person.sex, "address": person.address},
                    "household_id": person.household_id})


@bp.get("/shelters")
def shelters():
    """Every site as GeoJSON: counters, status, suitability for the disaster in progress, hazard areas,
    needs and overflow suggestions.  The map polls this to restyle its markers."""
    from .situation import current_disaster, feature_collection, site_views
    disaster = current_disaster()
    return jsonify(feature_collection(site_views(disaster), disaster))
