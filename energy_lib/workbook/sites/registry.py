"""The site registry: what each site is (place, time zone, type, capacity, reading interval), kept in the sites
table (``record = "site"``, ``id`` = site id) so that one Query lists it.

Values are validated when they come in (:func:`parse_csv`, :func:`site_from_fields`), with one-line errors
that name the row and the field. Numbers are kept exact (Decimal from the text). Readings of a site that is not
registered are stored all the same; :func:`listing` shows them as unregistered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from energy_lib import query, tail
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, batch_put, from_item, to_item
from energy_lib.errors import EnergyError
from energy_lib.schema import SITE_RECORD
from energy_lib.timeutil import format_timestamp
from energy_lib.validation import SITE_ID

RECORD = SITE_RECORD  # partition of the sites table that holds the registry
ALL_DAY, DAYLIGHT = "all_day", "daylight"
REPORTING_HOURS = (ALL_DAY, DAYLIGHT)
FIELDS = (
    "site_id",
    "name",
    "latitude",
    "longitude",
    "timezone",
    "site_type",
    "capacity_kw",
    "interval_minutes",
    "reporting_hours",
    "tilt_deg",
    "azimuth_deg",
    "dc_ac_ratio",
    "commissioned_on",
)
# name defaults to the site id, reporting_hours to all_day; the plant's build (tilt, azimuth, DC/AC ratio,
# commissioning date) may be unknown, and fleet performance then says what it assumed
OPTIONAL = ("name", "reporting_hours", "tilt_deg", "azimuth_deg", "dc_ac_ratio", "commissioned_on")
MAX_DC_AC_RATIO = Decimal(5)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIRST_COMMISSIONING, LAST_COMMISSIONING = date(1970, 1, 1), date(2199, 12, 31)
NAME_CHARS = 200
TYPE_CHARS = 64
ERRORS_NAMED = 1  # errors spelt out in a RegistryError's message; the rest are counted


class RegistryError(EnergyError):
    """Registry input that cannot be stored: the message names the row and the field."""


@dataclass(frozen=True, slots=True)
class RegisteredSite:
    """One site of the registry.

    Parameters
    ----------
    site_id : str
        The id its readings carry: 1-128 letters, digits, ``-``, ``_`` or ``.``.
    name : str
        For people; the site id when not given.
    latitude, longitude : Decimal
        Position. [degrees]
    timezone : str
        IANA time zone, e.g. ``Europe/Madrid``.
    site_type : str
        Kind of plant, e.g. ``solar``, ``solar_storage``, ``hybrid``.
    capacity_kw : Decimal
        PV peak capacity. [kW]
    interval_minutes : int
        Expected time between readings; divides a day (1, 5, 15, 60 ...). [min]
    reporting_hours : str
        ``all_day``: a reading is expected in every interval; ``daylight``: only while the sun is at least
        5 degrees above the horizon (a meter that sleeps at night). See docs/site-health.md.
    tilt_deg : Decimal or None
        Module tilt from horizontal, 0 to 90. [degrees]
    azimuth_deg : Decimal or None
        Direction the modules face, clockwise from north: 90 east, 180 south. [degrees]
    dc_ac_ratio : Decimal or None
        DC (peak) capacity over the inverters' AC rating, above 0 and at most 5; the AC rating is
        ``capacity_kw / dc_ac_ratio``. [-]
    commissioned_on : date or None
        When the plant started producing; degradation is counted from then.
    """

    site_id: str
    name: str
    latitude: Decimal
    longitude: Decimal
    timezone: str
    site_type: str
    capacity_kw: Decimal
    interval_minutes: int
    reporting_hours: str = ALL_DAY
    tilt_deg: Decimal | None = None
    azimuth_deg: Decimal | None = None
    dc_ac_ratio: Decimal | None = None
    commissioned_on: date | None = None

    def row(self) -> dict[str, Any]:
        """The site as a plain row (numbers exact, the commissioning date as ``YYYY-MM-DD``)."""
        row = asdict(self)
        if self.commissioned_on is not None:
            row["commissioned_on"] = self.commissioned_on.isoformat()
        return row

    def item(self, updated_at: datetime) -> dict[str, Any]:
        """The stored item (an optional field that is not known is left out)."""
        known = {name: value for name, value in self.row().items() if value is not None}
        return {"record": RECORD, "id": self.site_id, **known, "updated_at": format_timestamp(updated_at)}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> RegisteredSite:
        values = {name: item[name] for name in FIELDS if item.get(name) is not None}
        values["interval_minutes"] = int(values["interval_minutes"])
        if "commissioned_on" in values:
            values["commissioned_on"] = date.fromisoformat(values["commissioned_on"])
        return cls(**values)


def _number(text: str, low: Decimal | None, high: Decimal | None, above: bool = False) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite() or (low is not None and (value <= low if above else value < low)):
        raise ValueError
    if high is not None and value > high:
        raise ValueError
    return value


def _check(field: str, raw: Any) -> Any:
    """The value of ``field`` from its text; ValueError with what is wrong."""
    text = "" if raw is None else str(raw).strip()
    if field == "site_id":
        if not SITE_ID.fullmatch(text):
            raise ValueError("must be 1-128 letters, digits, '-', '_' or '.'")
        return text
    if field == "name":
        if len(text) > NAME_CHARS or not text.isprintable():
            raise ValueError(f"must be printable text of at most {NAME_CHARS} characters")
        return text
    if field in ("latitude", "longitude"):
        limit = Decimal(90 if field == "latitude" else 180)
        try:
            return _number(text, -limit, limit)
        except (InvalidOperation, ValueError):
            raise ValueError(f"must be a number from {-limit} to {limit} [degrees]") from None
    if field == "timezone":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, e.g. Europe/Madrid") from None
        return text
    if field == "site_type":
        if not text or len(text) > TYPE_CHARS or not all(c.isalnum() or c in "_-" for c in text):
            raise ValueError(f"must be 1-{TYPE_CHARS} letters, digits, '_' or '-', e.g. solar")
        return text
    if field == "capacity_kw":
        try:
            return _number(text, Decimal(0), None, above=True)
        except (InvalidOperation, ValueError):
            raise ValueError("must be a number above 0 [kW]") from None
    if field == "interval_minutes":
        if not text.isdigit() or not 1 <= int(text) <= 1440 or 1440 % int(text):
            raise ValueError("must be a whole number of minutes that divides a day (1, 5, 10, 15, 30, 60 ...)")
        return int(text)
    if field == "reporting_hours":
        if text not in REPORTING_HOURS:
            raise ValueError(f"must be {' or '.join(REPORTING_HOURS)}")
        return text
    if field in ("tilt_deg", "azimuth_deg"):
        try:
            value = _number(text, Decimal(0), Decimal(90) if field == "tilt_deg" else None)
        except (InvalidOperation, ValueError):
            value = None
        if value is None or (field == "azimuth_deg" and value >= 360):
            bounds = "from 0 to 90" if field == "tilt_deg" else "from 0 up to (not including) 360"
            raise ValueError(f"must be a number {bounds} [degrees]")
        return value
    if field == "dc_ac_ratio":
        try:
            return _number(text, Decimal(0), MAX_DC_AC_RATIO, above=True)
        except (InvalidOperation, ValueError):
            raise ValueError(f"must be a number above 0 and at most {MAX_DC_AC_RATIO} [-]") from None
    if field == "commissioned_on":
        try:
            day = date.fromisoformat(text) if ISO_DATE.fullmatch(text) else None
        except ValueError:
            day = None
        if day is None or not FIRST_COMMISSIONING <= day <= LAST_COMMISSIONING:
            raise ValueError(f"must be a date YYYY-MM-DD from {FIRST_COMMISSIONING} to {LAST_COMMISSIONING}")
        return day
    raise ValueError(f"unknown field (the fields are {', '.join(FIELDS)})")


def site_from_fields(values: Mapping[str, Any], where: str = "site") -> RegisteredSite:
    """A validated site from ``values`` (text or numbers by field name; the :data:`OPTIONAL` fields may be left out).

    Raises
    ------
    RegistryError
        ``"<where>, field <name>: <what is wrong>, not '<value>'"``, for the first field that is wrong.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise RegistryError(f"{where}: unknown field {unknown[0]!r} (the fields are {', '.join(FIELDS)})")
    checked: dict[str, Any] = {}
    for field in FIELDS:
        raw = values.get(field)
        if field in OPTIONAL and (raw is None or str(raw).strip() == ""):
            continue
        if raw is None or str(raw).strip() == "":
            raise RegistryError(f"{where}, field {field}: missing")
        try:
            checked[field] = _check(field, raw)
        except ValueError as problem:
            raise RegistryError(f"{where}, field {field}: {problem}, not {str(raw)!r}") from None
    checked.setdefault("name", checked["site_id"])
    return RegisteredSite(**checked)


def parse_csv(text: str | bytes) -> list[RegisteredSite]:
    """Sites from CSV with a header row naming the fields (in any order; the :data:`OPTIONAL` fields may be left
    out, as columns or as empty cells). Rows are numbered as in a spreadsheet: the header is row 1.

    Raises
    ------
    RegistryError
        The first problem (``"row 4, field capacity_kw: must be a number above 0 [kW], not '-5'"``) and how many
        more there are; nothing is stored when any row is wrong.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RegistryError(f"not UTF-8 text: {error}") from None
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise RegistryError("row 1: no header (expected the columns " + ", ".join(FIELDS) + ")")
    reader.fieldnames = header
    unknown = [name for name in header if name not in FIELDS]
    missing = [name for name in FIELDS if name not in header and name not in OPTIONAL]
    if unknown or missing:
        what = [f"unknown column {name!r}" for name in unknown] + [f"missing column {name!r}" for name in missing]
        raise RegistryError(f"row 1 (header): {'; '.join(what)} (the columns are {', '.join(FIELDS)})")
    sites: list[RegisteredSite] = []
    errors: list[str] = []
    first_row: dict[str, int] = {}
    for number, values in enumerate(reader, start=2):
        if None in values:  # more cells than header names
            errors.append(f"row {number}: {len(header) + len(values[None])} cells for {len(header)} columns")
            continue
        try:
            site = site_from_fields(values, f"row {number}")
        except RegistryError as error:
            errors.append(str(error))
            continue
        if site.site_id in first_row:
            errors.append(f"row {number}, field site_id: {site.site_id} is already on row {first_row[site.site_id]}")
            continue
        first_row[site.site_id] = number
        sites.append(site)
    if errors:
        more = len(errors) - ERRORS_NAMED
        raise RegistryError("; ".join(errors[:ERRORS_NAMED]) + (f" (and {more} more)" if more > 0 else ""))
    if not sites:
        raise RegistryError("no sites: the file has a header and no rows")
    return sites


def put_sites(settings: Settings, dynamodb: Any, sites: Sequence[RegisteredSite]) -> int:
    """Store ``sites`` (a site already registered is replaced), 25 a request; returns how many."""
    now = datetime.now(timezone.utc)
    batch_put(dynamodb, settings.sites_table, [site.item(now) for site in sites])
    return len(sites)


def list_sites(settings: Settings, dynamodb: Any, cost: Cost | None = None) -> list[RegisteredSite]:
    """Every registered site, by site id: one Query (paged)."""
    return [RegisteredSite.from_item(item) for item in tail.registry_items(settings, dynamodb, cost)]


def get_site(settings: Settings, dynamodb: Any, site_id: str) -> RegisteredSite | None:
    """One registered site, or None."""
    item = dynamodb.get_item(
        TableName=settings.sites_table, Key=to_item({"record": RECORD, "id": site_id}), ConsistentRead=True
    ).get("Item")
    return None if item is None else RegisteredSite.from_item(from_item(item))


def listing(settings: Settings, dynamodb: Any, cost: Cost | None = None) -> list[dict[str, Any]]:
    """Registered sites and, after them, the sites that have readings but are not registered, each row with
    ``registered`` True or False (the unregistered ones have only ``site_id``). Two Queries (paged)."""
    registered = list_sites(settings, dynamodb, cost)
    known = {site.site_id for site in registered}
    rows: list[dict[str, Any]] = [{**site.row(), "registered": True} for site in registered]
    rows += [
        {**dict.fromkeys(FIELDS), "site_id": site_id, "registered": False}
        for site_id in query.sites(settings, dynamodb, cost)
        if site_id not in known
    ]
    return rows
