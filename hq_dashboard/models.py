"""HQ's tables: shelters with their live counters, enrolled kiosks, the event log, merged persons."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from evac.events import FAMILY_CODE_LEN
from evac.whereabouts import IN_TRANSIT

from .db import db


# The partial index's condition, written as the queries that use it write it (a bound parameter in its place
# and SQLite would not use the index).
IN_TRANSIT_WHERE = f"state = '{IN_TRANSIT}'"
# Consents nobody saw the person give: the public self-report page's, and a kiosk's from a shelter where
# the person has not been recorded (Person.consent_source).
UNCHECKED_CONSENT_SOURCES = frozenset({"self", "away"})

class Shelter(db.Model):
    __tablename__ = "shelters"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hazards: Mapped[str] = mapped_column(String(300), default="")  # space-separated codes
    phone: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    # Set by shelter_status events; any check-in opens a shelter too.
    opened: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_order: Mapped[str] = mapped_column(String(100), default="")
    # Live counters, moved incrementally by the merge: people checked in here by stay type.
    occupancy: Mapped[int] = mapped_column(Integer, default=0)
    at_home: Mapped[int] = mapped_column(Integer, default=0)
    in_car: Mapped[int] = mapped_column(Integer, default=0)
    # Declared full by the shelter's staff (a shelter_status event), whatever the count says.
    declared_full: Mapped[bool] = mapped_column(Boolean, default=False)
    full_order: Mapped[str] = mapped_column(String(100), default="")

    @property
    def closed_by_staff(self) -> bool:
        # Not open, yet opened or closed before: only a "closed" status event leaves a shelter so (check-ins
        # and the other statuses open it), where one never opened has no order at all.
        return not self.opened and bool(self.opened_order)

    @property
    def status(self) -> str:
        # Staff closing the shelter, or declaring it full, is the last word, whatever the count says.  A site
        # with no capacity estimate for staying (0) is full only once people are in it, not while empty.
        # "closed" is the tablet's word (閉鎖): a shelter never opened is "not_opened" (未開設).
        if self.closed_by_staff:
            return "closed"
        if self.declared_full or (self.capacity is not None and self.occupancy >= self.capacity
                                  and (self.occupancy or self.capacity > 0)):
            return "full"
        return "open" if self.opened else "not_opened"


class Kiosk(db.Model):
    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shelter_id: Mapped[str] = mapped_column(ForeignKey("shelters.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The kiosk database's own id, bound on first sync: one token, one event stream.
    device_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    high_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_event_hlc: Mapped[int] = mapped_column(BigInteger, default=0)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Records this kiosk's lead withdrew because HQ refused them for good: people HQ's picture may lack.
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)   # migration 0017
    # The shelter of this kiosk's latest check-in: another than shelter_id is a kiosk moved to another
    # shelter, or started for the wrong one (its people are counted where it says).  Migration 0018.
    checks_in_at: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The kiosk's last batch HQ refused for a reason it cannot get past alone (a record HQ will never take,
    # a restored database): HQ staff see it on the dashboard.  Cleared by the next batch HQ takes.  0021.
    refused_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    refused_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refused_message: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    refused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The highest record the kiosk has written, as it said with its latest batch (None: a kiosk older than
    # this says nothing): above high_seq, records of the shelter HQ has not received yet.  Migration 0022.
    last_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Retired by HQ staff (its database replaced, the machine gone): its token no longer works and it leaves
    # the dashboard; what HQ holds from it stays.  Migration 0032.
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EventRecord(db.Model):
    __tablename__ = "events"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hlc: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    shelter_id: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of the event as the kiosk sent it
    # A kiosk's consent: the shelter its kiosk was enrolled at when HQ received it.  A consent that widens
    # disclosure counts as given in person only where the person has been (merge.consent_source): a copied
    # kiosk token must not speak for the whole city (災対法 §86-15).  Kept as received: moving the kiosk
    # later (enrollment.move_kiosk) does not change where it was.  Migration 0034.
    kiosk_shelter_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Person(db.Model):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[str] = mapped_column(String(10), index=True)  # safety inquiries look people up by it
    sex: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(200), default="")
    # Indexed (migration 0023): the kiosks' protection digests cover a protected person's whole household,
    # read with every sync (hq_dashboard.api._protected).
    household_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    # Name, birth date and sex are those of the latest event (info_order); kana, address and household
    # those of the latest event that gave one (each its own order), whatever order events arrive in
    # (hq_dashboard.merge, evac.corrections).  Orders are evac.events.order_key text.
    info_order: Mapped[str] = mapped_column(String(100), default="")
    kana_order: Mapped[str] = mapped_column(String(100), default="")       # migration 0016
    address_order: Mapped[str] = mapped_column(String(100), default="")
    household_order: Mapped[str] = mapped_column(String(100), default="")
    # Whereabouts: the fold of this person's location events (evac.whereabouts).
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    # No index of its own: every new person and every move would rewrite one, and nothing
    # looks persons up by shelter except the needs counts, which ix_persons_needs serves.
    shelter_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stay_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    loc_order: Mapped[str] = mapped_column(String(100), default="")
    needs: Mapped[str] = mapped_column(String(200), default="")  # space-separated codes
    needs_order: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="")
    status_note: Mapped[str] = mapped_column(String(500), default="")
    status_order: Mapped[str] = mapped_column(String(100), default="")
    # Disclosure to family inquiries (evac.disclosure): one given in person at a kiosk beats one given
    # with a pre-registration QR, which beats a self-reported one; the latest wins within a source
    # (merge.consent_rank); never-disclose, once set by anyone, stays
    # (a kiosk must not be able to lift a DV protection).
    consent: Mapped[str] = mapped_column(String(8), default="none")
    family_code: Mapped[str] = mapped_column(String(FAMILY_CODE_LEN[1]), default="")  # migration 0015
    consent_order: Mapped[str] = mapped_column(String(100), default="")
    never_disclose: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str] = mapped_column(String(100), default="")
    contact_order: Mapped[str] = mapped_column(String(100), default="")   # of the latest details event
    # Where the latest consent came from: "kiosk" (in person: card, IC card, staff), "qr" (a kiosk's
    # screen, for someone identified only by a pre-registration QR, which anyone can have made),
    # "self" (the public self-report page, where anyone can claim to be anyone), or "away" (a kiosk
    # enrolled at a shelter where the person has never been recorded: a copied kiosk token could have
    # sent it).  A self-reported or away consent speaks only for self-reported whereabouts, never
    # answers an inquiry at once, and is not exported to other people finders.
    consent_source: Mapped[str] = mapped_column(String(8), default="kiosk")
    # A consent widening disclosure came from a kiosk enrolled where the person has not been recorded
    # (yet): their consent is decided again when they are recorded somewhere new (merge._reconsent).
    # Migration 0034.
    consent_elsewhere: Mapped[bool] = mapped_column(Boolean, default=False)
    # Staff corrected this person's identity: name, birth date and address are then decided from
    # everything said about them (evac.corrections), so a later word under the old identity cannot undo it.
    identity_corrected: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def consent_unchecked(self) -> bool:
        """The standing consent is one nobody saw the person give (UNCHECKED_CONSENT_SOURCES)."""
        return self.consent_source in UNCHECKED_CONSENT_SOURCES

    @property
    def consent_unproven(self) -> bool:
        """The standing consent came with a pre-registration QR (merge.consent_source "qr"), which proves no
        one: it widens what staff release, never what is told at once or published."""
        return self.consent_source == "qr"

    @property
    def effective_consent(self) -> tuple[str, str]:
        """(consent, family code) as disclosure may use them now."""
        if self.consent_unchecked and self.state != "self_reported":
            return "none", ""
        return self.consent, self.family_code

    # Needs per shelter for HQ's map and dashboard: only the few persons with needs are in this index,
    # so counting them does not scan the whole city.
    __table_args__ = (
        Index("ix_persons_needs", "shelter_id", "needs", "state",
              sqlite_where=text("needs != ''"), postgresql_where=text("needs != ''")),
        # The few protected people, read with every kiosk sync (the configuration's version carries
        # them): without it each sync would scan the whole city.  Migration 0020.
        Index("ix_persons_protected", "birth_date",
              sqlite_where=text("never_disclose = 1"), postgresql_where=text("never_disclose = true")),
        # The few people between shelters, counted with every dashboard and wall refresh.  Migration 0033.
        Index("ix_persons_in_transit", "shelter_id", "loc_order",
              sqlite_where=text(IN_TRANSIT_WHERE), postgresql_where=text(IN_TRANSIT_WHERE)),
    )


class PersonHousehold(db.Model):
    """The households of persons recorded in more than one at HQ, besides persons.household_id (the latest):
    protection through a household (災対法 §86-15, evac.disclosure.in_protected_household) must not be
    lost when the child of a protected mother checks in again with his grandmother, or the mother without
    him.  A person's households are persons.household_id and these rows (safety.households_of).  Written by
    the merge only when a person is seen in a second household, so the many who stay in one cost nothing;
    a merge of two persons carries the merged-away one's rows over.  Migration 0030."""
    __tablename__ = "person_households"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # The few protected households' members are found by it (safety.protected_identities, api._protected).
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class PersonKey(db.Model):
    """Every identity key a person has been seen with (name+birth+address, pre-registration id).

    An append-only log: the latest row for a key says whose it is (a merge of
    two persons appends rows for the merged-away one's keys).  HQ holds the
    key -> person map in memory (hq_dashboard.identity_index) and reads only
    the rows added since; there is deliberately no index on `key`, because
    hashed keys land at random places in one and every batch would rewrite
    most of its pages.
    """
    __tablename__ = "person_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    person_id: Mapped[int] = mapped_column(Integer, index=True)


class HQMeta(db.Model):
    """Small named values of this database: `instance` tells one database from another,
    `disaster` is the disaster in progress HQ's staff chose, `self_report_seq` numbers HQ's own stream."""
    __tablename__ = "hq_meta"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class PreregKey(db.Model):
    """HQ's Ed25519 keys for pre-registration QRs; kiosks get the public halves on sync."""
    __tablename__ = "prereg_keys"

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)
    private_raw: Mapped[str] = mapped_column(String(64))   # hex; never leaves HQ
    public_raw: Mapped[str] = mapped_column(String(64))    # hex
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # retired: no longer sent to kiosks, so QRs signed with it are refused after their next sync
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PreregHousehold(db.Model):
    """A household registered ahead of time; its QR checks every member in with one scan."""
    __tablename__ = "prereg_households"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)              # the signed payload, as JSON
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # SHA-256 of the family's secret management link (never the link): on the household's current row only;
    # a change moves it to the new row (hq_dashboard.prereg.change).  None before 0036 and on replaced rows.
    manage_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    # The registration a family's change replaced this one with (migration 0036): staff given the number of
    # a replaced one (from the family's first done page) revoke the one that now stands.
    replaced_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class KioskCorrection(db.Model):
    """Identities a kiosk's staff corrected away, and the identity the person goes by at that kiosk now
    (the kiosk's own corrected_keys, kept by HQ from its correction records).  That kiosk's records under
    the old identity are the corrected person's; other kiosks' records under it stay whoever it names
    there: twins 佐藤 優 and 佐藤 優子, one typed as the other and corrected, are two people."""
    __tablename__ = "kiosk_corrections"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    old_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    new_key: Mapped[str] = mapped_column(String(80))


class LeftElsewhere(db.Model):
    """HQ's word to a kiosk that someone it checked in has been recorded since at another shelter, or
    checked out elsewhere: the kiosk's own record (device_id, seq) that no longer says where they are.
    An append-only log the kiosk reads from where it stopped (hq_dashboard.left_elsewhere); kind
    "moved" (checked in or on their way at another shelter), "left" (checked out; or protected: nothing
    more is said), "" (HQ takes its word back: that record says where they are again).  Never where."""
    __tablename__ = "left_elsewhere"
    __table_args__ = (Index("ix_left_elsewhere_device", "device_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))


class IcLink(db.Model):
    """Whose transport IC card a token is (a keyed hash of the card's IDm, never the IDm).

    Kept apart from identity keys on purpose: a card handed on to someone else
    must move to them, not make the two people one.  The latest link wins.
    """
    __tablename__ = "ic_links"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    link_order: Mapped[str] = mapped_column(String(100))


class Inquiry(db.Model):
    """A safety inquiry (災対法 §86-15) and the answer it got; kept for the audit."""
    __tablename__ = "inquiries"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)      # the reference the inquirer is given
    access_hash: Mapped[str] = mapped_column(String(64))               # sha256 of the inquirer's secret
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    inquirer_name: Mapped[str] = mapped_column(String(100))
    inquirer_address: Mapped[str] = mapped_column(String(200))
    inquirer_contact: Mapped[str] = mapped_column(String(100))
    relationship: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    sought_name: Mapped[str] = mapped_column(String(100))
    sought_birth_date: Mapped[str] = mapped_column(String(10))
    sought_address: Mapped[str] = mapped_column(String(200), default="")
    # evac.events.SEXES, or '' (not given; inquiries made before it was kept): narrows near records by reading.
    sought_sex: Mapped[str] = mapped_column(String(8), default="", server_default="")
    family_code_given: Mapped[bool] = mapped_column(Boolean, default=False)
    # Never shown before review; re-pointed when the merge finds two persons are one (indexed for that).
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)          # a never-disclose person was sought
    status: Mapped[str] = mapped_column(String(16), index=True)            # answered | pending_review | released | rejected
    answer: Mapped[str] = mapped_column(Text)                              # JSON of what the inquirer is shown
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_note: Mapped[str] = mapped_column(String(500), default="")
    notify_email: Mapped[str] = mapped_column(String(200), default="")
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The public page's language when it was sent (a code of hq_dashboard.i18n.LANGUAGES), so its e-mail news
    # speaks it (notify.mail_languages); '' when not known (the JSON API; inquiries made before it was kept).
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")


class AuditEntry(db.Model):
    """Every inquiry, answer, release and refusal, for staff to search."""
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    inquiry_id: Mapped[str] = mapped_column(String(16), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class StaffUser(db.Model):
    """HQ staff: the dashboard and exports, and (by role) the safety inquiries and their audit."""
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Set: the account may not log in (someone who left); kept, so what it did keeps its name.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # lead, safety or desk: which staff pages the account opens (hq_dashboard.roles.AREAS).  The database's
    # default is for the accounts from before roles (migration 0027_staff_role), and for one an older HQ
    # still running adds during the upgrade: they could do everything.  HQ's own code always names the role.
    role: Mapped[str] = mapped_column(String(16), server_default="lead")


class StaffSession(db.Model):
    """One HQ staff log-in.  The session cookie names it by a random id, kept here only as its hash
    (a copy of this table logs nobody in), so a log-out, an idle timeout, a disabled account or a new
    password ends it for every copy of the cookie (a shared PC, a proxy log, a laptop backup)."""
    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)   # sha256 of the cookie's id
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The last use, written at most once a minute (staff.SEEN_EVERY): most page views stay reads.
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Why it ended (staff.ENDED): the log-in page says "idle" apart from the rest.
    ended_why: Mapped[str | None] = mapped_column(String(16), nullable=True)


class PfifRecord(db.Model):
    """A person record imported from another people finder (PFIF 1.4), with its notes."""
    __tablename__ = "pfif_records"

    person_record_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(300), default="")
    sex: Mapped[str] = mapped_column(String(8), default="")
    date_of_birth: Mapped[str] = mapped_column(String(10), default="", index=True)
    home_city: Mapped[str] = mapped_column(String(200), default="")
    source_name: Mapped[str] = mapped_column(String(200), default="")
    source_date: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="[]")     # JSON list of the record's notes
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SelfReportCount(db.Model):
    """People safe outside the shelters by their own report, by where they are; moved by the merge."""
    __tablename__ = "self_report_counts"

    place: Mapped[str] = mapped_column(String(20), primary_key=True)   # at_home | with_relatives | in_car | elsewhere
    count: Mapped[int] = mapped_column(Integer, default=0)
class HazardLayer(db.Model):
    """A hazard area layer imported at HQ (GeoJSON or shapefile, e.g. 国土数値情報 A40 tsunami), in WGS84."""
    __tablename__ = "hazard_layers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    disasters: Mapped[str] = mapped_column(String(200))     # space-separated evac.disasters codes
    credit: Mapped[str] = mapped_column(String(300), default="")
    source_name: Mapped[str] = mapped_column(String(300), default="")  # the imported file's name
    geojson: Mapped[str] = mapped_column(Text)               # FeatureCollection; properties label, depth_min_m
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WallDisplay(db.Model):
    """A wall screen at HQ (hq_dashboard.wall_display): the dashboard's numbers and the map, never logged
    out.  Not a staff account: no password, no role.  Its one-time link and its browser's cookie are kept
    only as hashes (a copy of this table opens no screen)."""
    __tablename__ = "wall_displays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)              # sha256 of the link's token
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)   # of the cookie's
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The last page the wall asked for, written at most once a minute: a lead sees the wall is still there.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # One live display per name (a revoked one keeps its name in the audit log, and the name may be given again).
    __table_args__ = (
        Index("ix_wall_displays_live_name", "name", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )


class PfifPublished(db.Model):
    """A person whose full record HQ has put in a PFIF export (hq_dashboard.pfif_exchange).  Only these
    are ever sent as withdrawn (an expired record) once no longer published: a person never published
    (protected from her first check-in, known only from self-reports) must be as absent from every
    export as someone the city knows nothing of (災対法 §86-15).  No foreign key: a merged-away person's
    row is deleted and her id must still be withdrawn."""
    __tablename__ = "pfif_published"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
