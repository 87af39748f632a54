"""What the site-health notebook displays: the KPI strip, the registry, silent sites, events and performance
tables, and the alert outcome, in the workbook's table look (:func:`.notebook.views.base_style`)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from energy_lib.timeutil import clock
from energy_lib.workbook.health import freshness
from energy_lib.workbook.health.assessment import Assessment
from energy_lib.workbook.health.events import KINDS
from energy_lib.workbook.notebook import palette, views
from energy_lib.workbook.notebook.views import Html, Kpi, Kpis

QUALITY_KINDS = tuple(kind for kind, (alert_kind, _) in KINDS.items() if alert_kind == "data_quality")
STATUS_COLOURS = {
    freshness.REPORTING: palette.HEALTHY,
    freshness.SILENT: palette.UNHEALTHY,
    freshness.NEVER: palette.UNHEALTHY,
    freshness.UNKNOWN: palette.MUTED,
    freshness.UNREGISTERED: palette.ZONE_COLOURS[palette.ZONE_FAIR],
}
REGISTRY_COLUMNS = {
    "site_id": "Site",
    "name": "Name",
    "site_type": "Type",
    "capacity_kw": "Capacity [kW]",
    "interval_minutes": "Interval [min]",
    "reporting_hours": "Reporting hours",
    "latitude": "Latitude [°]",
    "longitude": "Longitude [°]",
    "timezone": "Time zone",
    "registered": "Registered",
}
EVENT_COLUMNS = {
    "kind": "What",
    "site_id": "Site",
    "start_utc": "Start [UTC]",
    "end_utc": "End [UTC]",
    "duration_min": "Duration",
    "severity": "Severity",
    "detail": "Detail",
}


def duration_text(minutes: float) -> str:
    """A duration for people: ``45 min``, ``2 h 30 min``, ``4 days``, ``1 day 6 h``."""
    whole = round(minutes)
    days, rest = divmod(whole, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [views.count(days, "day")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins or not parts else []
    return " ".join(parts)


def not_assessed(assessment: Assessment, check: str) -> Html | None:
    """A message when ``check`` was not part of this run, else None."""
    if check in assessment.checks:
        return None
    return views.message(f"Not part of this run: it ran the checks {', '.join(assessment.checks)}.")


def _clock(moment: Any) -> str:
    return "" if moment is None or pd.isna(moment) else clock(pd.Timestamp(moment).to_pydatetime())


def kpis(assessment: Assessment) -> Kpis:
    """The period, registered sites and what each check found, as the workbook's KPI strip."""
    a = assessment
    items = [Kpi("Registered sites", f"{len(a.sites):,}", str(len(a.sites)), figure="registered_sites")]
    if a.freshness is not None:
        silent = int(a.freshness["silent"].fillna(False).astype(bool).sum())
        unregistered = int((a.freshness["status"] == freshness.UNREGISTERED).sum())
        unknown = int((a.freshness["status"] == freshness.UNKNOWN).sum())
        note = f"at {_clock(a.as_of)} UTC; {views.count(unregistered, 'unregistered site')}"
        if unknown:
            note += f"; {unknown} not known (no last reading time in the rollups)"
        accent = palette.UNHEALTHY if silent else palette.NEUTRAL if unknown else palette.HEALTHY
        items.append(Kpi("Silent now", f"{silent:,}", str(silent), note=note, accent=accent, figure="silent_sites"))
    if a.quality is not None:
        expected = int(a.quality["expected_intervals"].sum())
        received = int(a.quality["received_intervals"].sum())
        share = None if not expected else 100 * received / expected
        items.append(
            Kpi(
                "Completeness",
                "n/a" if share is None else f"{share:.1f} %",
                "" if share is None else views.exact_text(share),
                note=f"{received:,} of {expected:,} intervals",
                figure="fleet_completeness_pct",
            )
        )
        events = [e for e in a.events if e.kind in QUALITY_KINDS]
        items.append(
            Kpi(
                "Quality events",
                f"{len(events):,}",
                str(len(events)),
                note=", ".join(sorted({e.kind.replace("_", " ") for e in events})) or "none",
                accent=palette.UNHEALTHY if events else palette.HEALTHY,
                figure="quality_events",
            )
        )
    if a.performance is not None:
        under = sorted({e.site_id for e in a.events if e.kind == "underperformance"})
        items.append(
            Kpi(
                "Underperforming",
                f"{len(under):,}",
                str(len(under)),
                note=", ".join(under) or "no site",
                accent=palette.UNHEALTHY if under else palette.HEALTHY,
                figure="underperforming_sites",
            )
        )
    days = len(list(pd.date_range(a.start, a.end, freq="D", inclusive="left")))
    return Kpis(views.period_text(a.start, a.end), views.count(days, "day"), tuple(items))


def registry_table(rows: Sequence[dict[str, Any]]) -> Styler | Html:
    """:func:`energy_lib.workbook.sites.registry.listing` as a table; unregistered sites (readings stored, not in
    the registry) in amber."""
    if not rows:
        return views.message(
            "No site is registered and none has readings: import a CSV (energy-workbook sites import)."
        )
    frame = pd.DataFrame(rows).reindex(columns=list(REGISTRY_COLUMNS))
    frame["registered"] = frame["registered"].map({True: "yes", False: "no: readings only"})
    for column in ("capacity_kw", "latitude", "longitude"):
        frame[column] = frame[column].map(lambda value: "" if value is None else f"{value:f}")
    frame["interval_minutes"] = frame["interval_minutes"].map(lambda value: "" if value is None else str(value))
    frame = frame.fillna("").rename(columns=REGISTRY_COLUMNS)
    unregistered = int((frame["Registered"] != "yes").sum())
    styler = views.base_style(frame.style, ["Site", "Name", "Type", "Reporting hours", "Time zone", "Registered"])
    styler = styler.map(
        lambda value: "" if value == "yes" else f"background-color: {STATUS_COLOURS[freshness.UNREGISTERED]}",
        subset=["Registered"],
    )
    caption = f"{views.count(len(frame) - unregistered, 'registered site')}"
    if unregistered:
        caption += f"; {views.count(unregistered, 'site')} with readings but not registered"
    return styler.set_caption(html.escape(caption))


def freshness_table(assessment: Assessment) -> Styler | Html:
    """Each site's last reading and status at the assessment's ``as_of``, silent sites first."""
    missing = not_assessed(assessment, "freshness")
    if missing is not None:
        return missing
    frame = assessment.freshness
    if frame is None or frame.empty:
        return views.message("No registered site and no site with readings.")
    order = {status: i for i, status in enumerate(STATUS_COLOURS)}
    shown = frame.assign(
        rank=frame["status"].map(lambda s: -1 if s in (freshness.SILENT, freshness.NEVER) else order[s])
    )
    shown = shown.sort_values(["rank", "site_id"], kind="stable")
    table = pd.DataFrame(
        {
            "Site": shown["site_id"],
            "Name": shown["name"].fillna(""),
            "Status": shown["status"],
            "Last reading [UTC]": shown["last_reading_at"].map(_clock),
            "Age [min]": shown["age_min"],
            "Silent after [min]": shown["silent_after_min"],
        }
    ).reset_index(drop=True)
    styler = views.base_style(
        table.style.format({"Age [min]": "{:,.0f}", "Silent after [min]": "{:,.0f}"}, na_rep=""), ["Site", "Name"]
    ).map(lambda status: f"color: {STATUS_COLOURS[status]}; font-weight: 600", subset=["Status"])
    silent = int(frame["silent"].fillna(False).astype(bool).sum())
    registered = int((frame["status"] != freshness.UNREGISTERED).sum())
    return styler.set_caption(
        f"{silent} of {views.count(registered, 'registered site')} silent at {_clock(assessment.as_of)} UTC "
        f"(no reading for more than {assessment.thresholds.silent_after_intervals:g} of its intervals)"
    )


def events_table(assessment: Assessment, kinds: Sequence[str], check: str, empty: str) -> Styler | Html:
    """The events of ``kinds``: what, site, start, end, duration [min], severity (coloured), detail."""
    missing = not_assessed(assessment, check)
    if missing is not None:
        return missing
    frame = assessment.events_frame
    frame = frame[frame["kind"].isin(kinds)]
    if frame.empty:
        return views.message(empty)
    table = frame.assign(
        kind=frame["kind"].str.replace("_", " "),
        start_utc=frame["start_utc"].map(_clock),
        end_utc=frame["end_utc"].map(_clock),
        duration_min=frame["duration_min"].map(duration_text),
    ).rename(columns=EVENT_COLUMNS)
    styler = views.base_style(table.reset_index(drop=True).style, ["What", "Site", "Detail"]).set_properties(
        subset=["Start [UTC]", "End [UTC]", "Duration"], **{"white-space": "nowrap"}
    )
    styler = styler.map(
        lambda severity: (
            f"background-color: {palette.SEVERITY_COLOURS[severity]}; "
            f"color: {'white' if severity in ('HIGH', 'CRITICAL') else 'black'}; font-weight: 600"
        ),
        subset=["Severity"],
    )
    return styler.set_caption(views.count(len(table), "event"))


def quality_events(assessment: Assessment) -> Styler | Html:
    return events_table(
        assessment,
        QUALITY_KINDS,
        "quality",
        "No data-quality event: no gap, frozen meter, daytime outage or night generation in the period.",
    )


def underperforming_sites(assessment: Assessment) -> Styler | Html:
    return events_table(
        assessment,
        ("underperformance",),
        "performance",
        "No site underperforms: no index fell below its baseline by the margin for the days required.",
    )


def performance_table(assessment: Assessment) -> Styler | Html:
    """Per site over the period: generated and clear-sky expected energy [kWh], performance index, specific
    yield [kWh/kWp], capacity factor [%] and the days it underperformed."""
    missing = not_assessed(assessment, "performance")
    if missing is not None:
        return missing
    frame = assessment.performance
    judged = frame[frame["performance_index"].notna()] if frame is not None else pd.DataFrame()
    if judged.empty:
        return views.message("No performance to show: no registered site has readings in the period.")
    capacity = {site.site_id: float(site.capacity_kw) for site in assessment.sites}
    rows = []
    for site_id, days in judged.groupby("site_id"):
        generated = float(sum(days["generated_kwh"]))
        expected = float(days["expected_kwh"].sum())
        rows.append(
            {
                "Site": site_id,
                "Generated [kWh]": generated,
                "Clear-sky expected [kWh]": expected,
                "Performance index": generated / expected if expected else None,
                "Specific yield [kWh/kWp]": generated / capacity[site_id],
                "Capacity factor [%]": 100 * generated / (capacity[site_id] * 24 * len(days)),
                "Days underperforming": int(days["underperforming"].sum()),
            }
        )
    table = pd.DataFrame(rows)
    styler = views.base_style(
        table.style.format(
            {
                "Generated [kWh]": "{:,.1f}",
                "Clear-sky expected [kWh]": "{:,.1f}",
                "Performance index": "{:.2f}",
                "Specific yield [kWh/kWp]": "{:.2f}",
                "Capacity factor [%]": "{:.1f}",
            },
            na_rep="n/a",
        ),
        ["Site"],
    ).map(lambda days: f"color: {palette.UNHEALTHY}; font-weight: 600" if days else "", subset=["Days underperforming"])
    return styler.set_caption("Over the days of the period with readings (valid readings only)")


def alert_outcome(outcome: dict[str, Any]) -> Html:
    """What :func:`energy_lib.workbook.health.alerts.publish_assessment` did, in one sentence."""
    if outcome["published"]:
        return views.message(f"Published one alert to the alerts topic ({outcome['message_id']}): {outcome['subject']}")
    tone = "info" if outcome["reason"] != "published" else "warning"
    subject = f" Message: {outcome['subject']}" if outcome.get("subject") else ""
    return views.message(f"No alert published: {outcome['reason']}.{subject}", tone)


def found_line(assessment: Assessment) -> str:
    """Every event as ``kind site start duration_min``, one per line, sorted: what the notebook test compares."""
    rows = assessment.events_frame.sort_values(["kind", "site_id", "start_utc"])
    return (
        "\n".join(f"{row.kind} {row.site_id} {row.start_utc} {row.duration_min:g}" for row in rows.itertuples())
        or "no events"
    )
