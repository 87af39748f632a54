"""The fleet-performance notebook's tables: every site's figures with their units, and, for a simulated fleet,
what was recovered beside what was injected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from energy_lib.workbook.fleet.analysis import SitePerformance
from energy_lib.workbook.fleet.charts import bases
from energy_lib.workbook.notebook.views import Html, message, table
from energy_lib.workbook.sites.registry import RegisteredSite

COLUMNS = {  # figure -> column heading (with its unit)
    "site_id": "Site",
    "expectation": "Expectation",
    "actual_kwh": "Actual [kWh]",
    "expected_kwh": "Expected [kWh]",
    "lost_kwh": "Lost, 4 causes [kWh]",
    "availability_pct": "Availability, time [%]",
    "energy_availability_pct": "Availability, energy [%]",
    "performance_ratio": "PR [-]",
    "performance_ratio_stc": "PR_STC [-]",
    "degradation_pct_per_year": "Degradation [%/yr]",
    "degradation_ci95": "95 % interval [%/yr]",
    "soiling_loss_pct": "Soiling loss [%]",
    "soiling_rate_pct_per_day": "Soiling rate [%/day]",
    "cleanings": "Cleanings",
    "clipping_loss_pct": "Clipping loss [%]",
    "clock": "Clock shifts",
}
COMPARED = {  # truth field -> (heading, unit)
    "degradation_pct_per_year": ("Degradation", "%/yr"),
    "soiling_loss_pct": ("Soiling loss", "%"),
    "clipping_loss_pct": ("Clipping loss", "%"),
    "availability_pct": ("Availability, time", "%"),
    "energy_availability_pct": ("Availability, energy", "%"),
    "time_shift_minutes": ("Clock shift at the end", "min"),
}


def _interval(values: Sequence[float] | None) -> str:
    return "" if not values else f"{values[0]:.2f} to {values[1]:.2f}"


def _clock(row: Mapping[str, Any]) -> str:
    return "; ".join(f"{shift['minutes']:+d} min from {shift['start']}" for shift in row["time_shifts"]) or "none"


def performance_table(results: Sequence[SitePerformance]) -> Styler | Html:
    """One row per site, ranked by the energy lost to the four named causes."""
    rows = [result.row() for result in results]
    analysed = [row for row in rows if "lost_energy_kwh" in row]
    missing = [row["site_id"] for row in rows if "lost_energy_kwh" not in row]
    if not analysed:
        return message("No chosen site has readings in the period.", "warning")
    frame = pd.DataFrame(
        [
            {
                **row,
                "lost_kwh": sum(value for cause, value in row["lost_energy_kwh"].items() if cause != "other"),
                "degradation_ci95": _interval(row["degradation_ci95_pct_per_year"]),
                "degradation_pct_per_year": row["degradation_pct_per_year"]
                if row["degradation_pct_per_year"] is not None
                else row["degradation_refused"],
                "cleanings": len(row["cleaning_events"]),
                "clock": _clock(row),
            }
            for row in analysed
        ]
    ).sort_values("lost_kwh", ascending=False)
    for column in ("actual_kwh", "expected_kwh", "lost_kwh"):
        frame[column] = frame[column].round(0)
    frame = frame[list(COLUMNS)].rename(columns=COLUMNS)
    caption = f"Against {bases(analysed)}; ranked by energy lost to outages, clipping, soiling and degradation"
    if missing:
        caption += f". No readings in the period: {', '.join(missing)}"
    return table(frame, "", caption)


def truth_table(results: Sequence[SitePerformance], truth: Mapping[str, Mapping[str, Any]]) -> Styler | Html:
    """Recovered beside injected, per site and quantity, and their difference."""
    records = []
    for result in results:
        row = result.row()
        injected = truth.get(row["site_id"])
        if injected is None or "lost_energy_kwh" not in row:
            continue
        record: dict[str, Any] = {"Site": row["site_id"]}
        for field, (heading, unit) in COMPARED.items():
            found = row.get(field)
            record[f"{heading}, injected [{unit}]"] = injected[field]
            record[f"{heading}, recovered [{unit}]"] = found
        ci = row["degradation_ci95_pct_per_year"]
        record["Injected rate inside the 95 % interval"] = (
            "" if not ci else ("yes" if ci[0] <= injected["degradation_pct_per_year"] <= ci[1] else "no")
        )
        records.append(record)
    return table(pd.DataFrame(records), "No simulated site to compare.", "Recovered against injected (the truth file)")


def recovery_summary(results: Sequence[SitePerformance], truth: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Median absolute error of each compared quantity [its unit], the share of sites whose injected rate lies in
    the 95 % interval [%], and the clock shifts found against injected (start within a day)."""
    pairs = [(result.row(), truth[result.row()["site_id"]]) for result in results if result.row()["site_id"] in truth]
    pairs = [(row, injected) for row, injected in pairs if "lost_energy_kwh" in row]
    summary: dict[str, Any] = {"sites": len(pairs)}
    for field in COMPARED:
        errors = [abs(row[field] - injected[field]) for row, injected in pairs if row.get(field) is not None]
        summary[f"{field}_median_abs_error"] = float(pd.Series(errors).median()) if errors else None
    rated = [(row, injected) for row, injected in pairs if row["degradation_ci95_pct_per_year"]]
    inside = [
        ci[0] <= injected["degradation_pct_per_year"] <= ci[1]
        for row, injected in rated
        for ci in [row["degradation_ci95_pct_per_year"]]
    ]
    summary["degradation_inside_ci95_pct"] = 100 * sum(inside) / len(inside) if inside else None
    injected_shifts = [(row, shift) for row, injected in pairs for shift in injected["time_shifts"]]
    found = [
        any(
            found_shift["minutes"] == shift["minutes"]
            and abs((pd.Timestamp(found_shift["start"]) - pd.Timestamp(shift["start"])).days) <= 1
            for found_shift in row["time_shifts"]
        )
        for row, shift in injected_shifts
    ]
    summary["clock_shifts_injected"] = len(found)
    summary["clock_shifts_found"] = sum(found)
    summary["clock_shifts_spurious"] = sum(
        1 for row, injected in pairs for shift in row["time_shifts"] if not injected["time_shifts"]
    )
    return summary


def check_line(results: Sequence[SitePerformance], truth: Mapping[str, Mapping[str, Any]] | None) -> str:
    """What a run found, in words that do not move with the last digits: sites, expectations, clock shifts,
    refusals, and for a simulated fleet how many injected shifts were found."""
    rows = [result.row() for result in results if "lost_energy_kwh" in result.row()]
    shifts = [
        f"{row['site_id']} {shift['minutes']:+d} min from {shift['start']}"
        for row in rows
        for shift in row["time_shifts"]
    ]
    refused = [row["site_id"] for row in rows if row["degradation_pct_per_year"] is None]
    line = (
        f"{len(rows)} sites against {bases(rows)}; clock shifts: {', '.join(shifts) or 'none'}; "
        f"degradation refused: {', '.join(refused) or 'none'}"
    )
    if truth:
        summary = recovery_summary(results, truth)
        line += f"; injected clock shifts found: {summary['clock_shifts_found']} of {summary['clock_shifts_injected']}"
    return line


def simulated_fleet(
    settings: Any, n_sites: int, start_utc: str, end_utc: str, interval_minutes: int, seed: int
) -> tuple[dict[str, Any] | None, list[RegisteredSite], Html]:
    """For the notebook: with ``n_sites`` > 0, the simulated fleet ``PV_001`` ... over the period in the lake
    (:func:`energy_lib.workbook.simulator.fleet.ensure_fleet`): its truth by site id, its sites as the registry
    would hold them (they are not registered), and a line that says what happened. With 0: none of these."""
    from energy_lib import timeutil
    from energy_lib.workbook.simulator.fleet import ensure_fleet, registry_entries, truth_document

    if n_sites <= 0:
        return None, [], message("No simulation: the registered sites are analysed from the lake as it is.")
    start, end = timeutil.utc(start_utc), timeutil.utc(end_utc)
    run, written = ensure_fleet(settings, n_sites, start, (end - start).days, interval_minutes, seed)
    done = "written into the lake" if written else "already in the lake"
    return (
        truth_document(run)["sites"],
        registry_entries(run.plants, interval_minutes),
        message(
            f"Simulated fleet of {n_sites} sites (seed {seed}, readings every {interval_minutes} min, "
            f"{timeutil.clock(start)} to {timeutil.clock(end)}): {done}. These sites are analysed, with their truth "
            "beside what is recovered."
        ),
    )
