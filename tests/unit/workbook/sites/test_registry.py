"""The site registry's validation: what goes in is checked, errors name the row and the field."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from energy_lib.workbook import simulator
from energy_lib.workbook.sites import registry
from energy_lib.workbook.sites.registry import RegisteredSite, RegistryError

HEADER = "site_id,name,latitude,longitude,timezone,site_type,capacity_kw,interval_minutes,reporting_hours"
GOOD = "PLANT_A,Almeria,36.834,-2.4637,Europe/Madrid,solar,500.125,15,daylight"


def test_a_good_file_gives_exact_sites_with_defaults_for_the_optional_fields() -> None:
    # GIVEN a file with one full row and one without the optional fields, columns in another order
    text = f"{HEADER}\n{GOOD}\n" + "PLANT_B,,48.85,2.35,Europe/Paris,hybrid,120,60,\n"
    # WHEN it is parsed
    sites = registry.parse_csv(text)
    # THEN numbers are exact decimals, the name defaults to the id and reporting hours to all day
    assert sites == [
        RegisteredSite(
            "PLANT_A",
            "Almeria",
            Decimal("36.834"),
            Decimal("-2.4637"),
            "Europe/Madrid",
            "solar",
            Decimal("500.125"),
            15,
            "daylight",
        ),
        RegisteredSite(
            "PLANT_B", "PLANT_B", Decimal("48.85"), Decimal("2.35"), "Europe/Paris", "hybrid", Decimal("120"), 60
        ),
    ]


def test_columns_may_come_in_any_order_with_a_bom_and_as_bytes() -> None:
    text = "\ufeffinterval_minutes,site_type,capacity_kw,timezone,longitude,latitude,site_id\r\n5,solar,1,UTC,0,0,X\r\n"
    [site] = registry.parse_csv(text.encode())
    assert (site.site_id, site.interval_minutes, site.timezone) == ("X", 5, "UTC")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("bad id!,n,1,1,UTC,solar,1,5,", "row 2, field site_id: must be 1-128 letters"),
        ("A,n,95,1,UTC,solar,1,5,", "row 2, field latitude: must be a number from -90 to 90 [degrees], not '95'"),
        ("A,n,1,-180.5,UTC,solar,1,5,", "row 2, field longitude: must be a number from -180 to 180"),
        ("A,n,nan,1,UTC,solar,1,5,", "row 2, field latitude"),
        ("A,n,1,1,Mars/Base,solar,1,5,", "row 2, field timezone: must be an IANA time zone name"),
        ("A,n,1,1,UTC,so lar,1,5,", "row 2, field site_type"),
        ("A,n,1,1,UTC,solar,0,5,", "row 2, field capacity_kw: must be a number above 0 [kW], not '0'"),
        ("A,n,1,1,UTC,solar,-5,5,", "row 2, field capacity_kw"),
        ("A,n,1,1,UTC,solar,inf,5,", "row 2, field capacity_kw"),
        (
            "A,n,1,1,UTC,solar,1,7,",
            "row 2, field interval_minutes: must be a whole number of minutes that divides a day",
        ),
        ("A,n,1,1,UTC,solar,1,2.5,", "row 2, field interval_minutes"),
        ("A,n,1,1,UTC,solar,1,5,night", "row 2, field reporting_hours: must be all_day or daylight, not 'night'"),
        ("A,n,,1,UTC,solar,1,5,", "row 2, field latitude: missing"),
        ("A,n,1,1,UTC,solar,1,5,all_day,extra", "row 2: 10 cells for 9 columns"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_row_and_the_field(row: str, message: str) -> None:
    with pytest.raises(RegistryError) as error:
        registry.parse_csv(f"{HEADER}\n{row}\n")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_every_wrong_row_is_counted_and_nothing_is_returned() -> None:
    text = f"{HEADER}\n{GOOD}\nB,n,99,1,UTC,solar,1,5,\nC,n,1,1,UTC,solar,-1,5,\nPLANT_A,n,1,1,UTC,solar,1,5,\n"
    with pytest.raises(RegistryError, match=r"^row 3, field latitude: .* \(and 2 more\)$"):
        registry.parse_csv(text)


def test_a_site_twice_names_the_row_it_first_came_on() -> None:
    with pytest.raises(RegistryError, match="row 3, field site_id: PLANT_A is already on row 2"):
        registry.parse_csv(f"{HEADER}\n{GOOD}\n{GOOD}\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "row 1: no header"),
        (f"{HEADER},colour\n{GOOD},red\n", "row 1 (header): unknown column 'colour'"),
        ("site_id,latitude\nA,1\n", "row 1 (header): missing column 'longitude'"),
        (f"{HEADER}\n", "no sites: the file has a header and no rows"),
        (b"site_id\n\xff\n", "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_a_registry_is_refused(text: str | bytes, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.parse_csv(text)


def test_the_simulated_fleet_registers_with_its_places_capacities_and_interval() -> None:
    fleet = simulator.default_fleet(13)
    sites = simulator.registry_entries(fleet, 15)
    assert [site.site_id for site in sites] == [site.site_id for site in fleet]
    first, thirteenth = sites[0], sites[12]
    assert (first.name, first.latitude, first.longitude, first.timezone) == (
        "Seville",
        Decimal("37.389"),
        Decimal("-5.984"),
        "Europe/Madrid",
    )
    assert (first.capacity_kw, first.interval_minutes, first.reporting_hours) == (Decimal("750.0"), 15, "all_day")
    assert thirteenth.name == "Seville 2"  # the second lap of the twelve places


def test_a_stored_item_reads_back_as_the_same_site() -> None:
    [site] = registry.parse_csv(f"{HEADER}\n{GOOD}\n")
    item = site.item(datetime(2025, 6, 11, tzinfo=timezone.utc))
    assert (item["record"], item["id"], item["updated_at"]) == ("site", "PLANT_A", "2025-06-11T00:00:00Z")
    assert RegisteredSite.from_item({**item, "interval_minutes": Decimal(15)}) == site


BUILD_HEADER = f"{HEADER},tilt_deg,azimuth_deg,dc_ac_ratio,commissioned_on"


def test_the_plant_build_fields_are_optional_exact_and_read_back_from_the_item() -> None:
    # GIVEN one row with the build fields and one with them left empty
    text = f"{BUILD_HEADER}\n{GOOD},30.5,180,1.25,2019-04-01\nPLANT_B,,1,1,UTC,solar,10,60,,,,,\n"
    built, bare = registry.parse_csv(text)
    # THEN numbers are exact, the date a date, and a site without them has None
    assert (built.tilt_deg, built.azimuth_deg, built.dc_ac_ratio) == (Decimal("30.5"), Decimal("180"), Decimal("1.25"))
    assert built.commissioned_on.isoformat() == "2019-04-01" and built.row()["commissioned_on"] == "2019-04-01"
    assert (bare.tilt_deg, bare.azimuth_deg, bare.dc_ac_ratio, bare.commissioned_on) == (None, None, None, None)
    # AND the stored item leaves unknown fields out and reads back as the same site
    item = bare.item(datetime(2025, 6, 11, tzinfo=timezone.utc))
    assert "tilt_deg" not in item and "commissioned_on" not in item
    assert RegisteredSite.from_item(item) == bare
    assert RegisteredSite.from_item(built.item(datetime(2025, 6, 11, tzinfo=timezone.utc))) == built


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("91,180,1.2,2020-01-01", "field tilt_deg: must be a number from 0 to 90 [degrees], not '91'"),
        ("-1,180,1.2,2020-01-01", "field tilt_deg"),
        ("30,360,1.2,2020-01-01", "field azimuth_deg: must be a number from 0 up to (not including) 360"),
        ("30,south,1.2,2020-01-01", "field azimuth_deg"),
        ("30,180,0,2020-01-01", "field dc_ac_ratio: must be a number above 0 and at most 5 [-], not '0'"),
        ("30,180,6,2020-01-01", "field dc_ac_ratio"),
        ("30,180,1.2,2020-13-01", "field commissioned_on: must be a date YYYY-MM-DD from 1970-01-01"),
        ("30,180,1.2,2020-W01-1", "field commissioned_on"),
        ("30,180,1.2,1969-12-31", "field commissioned_on"),
    ],
)
def test_a_wrong_build_field_is_refused_naming_the_row_and_the_field(build: str, message: str) -> None:
    with pytest.raises(RegistryError) as refused:
        registry.parse_csv(f"{BUILD_HEADER}\n{GOOD},{build}\n")
    assert str(refused.value).startswith("row 2, " + message)
