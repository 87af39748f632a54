"""Faults the simulator injects: each does what it says and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from energy_lib.workbook import simulator
from energy_lib.workbook.simulator import FrozenMeter, Outage, Silence, YieldLoss
from energy_lib.workbook.simulator import faults as fault_model

START = datetime(2025, 6, 10, tzinfo=timezone.utc)
AT = datetime(2025, 6, 11, 10, tzinfo=timezone.utc)
FLEET = simulator.default_fleet(3)


def frame(faults=(), rate: float = 0.05) -> pd.DataFrame:
    run = simulator.simulate(FLEET, START, 48, 15, rate, 7, faults)
    result = pd.DataFrame(run.readings)
    result["at"] = pd.to_datetime(result["timestamp"], utc=True)
    return result.set_index(["site_id", "at"])


def test_faults_change_only_their_site_and_span_and_take_no_anomaly() -> None:
    clean = frame()
    faulted = frame(
        [
            Silence("SITE_003", AT),
            FrozenMeter("SITE_002", AT, 2),
            Outage("SITE_001", AT, 1),
        ]
    )
    # silence: no reading of SITE_003 from AT on
    silent = faulted.loc["SITE_003"]
    assert silent.index.max() == pd.Timestamp(AT) - timedelta(minutes=15)
    # frozen: the 8 readings of the two hours repeat the first one, both values
    frozen = faulted.loc["SITE_002"].loc[AT : AT + timedelta(minutes=105)]
    assert len(frozen) == 8 and frozen["energy_generated_kwh"].nunique() == 1
    assert frozen["energy_consumed_kwh"].nunique() == 1
    # outage: zero generation for an hour, consumption as without the fault
    out = faulted.loc["SITE_001"].loc[AT : AT + timedelta(minutes=45)]
    assert (out["energy_generated_kwh"] == 0).all() and (out["energy_consumed_kwh"] >= 0).all()
    # everything outside the faults is as in the clean run
    untouched = [
        (site, at)
        for site, at in faulted.index
        if not (at >= pd.Timestamp(AT) and (site == "SITE_003" or at < pd.Timestamp(AT) + timedelta(hours=2)))
    ]
    pd.testing.assert_frame_equal(faulted.loc[untouched], clean.loc[untouched])


def test_injected_anomalies_count_the_readings_sent_with_a_negative_value() -> None:
    run = simulator.simulate(FLEET, START, 48, 15, 0.2, 7, [Silence("SITE_001", START), Outage("SITE_002", START, 24)])
    negative = sum(r["energy_generated_kwh"] < 0 or r["energy_consumed_kwh"] < 0 for r in run.readings)
    assert run.injected_anomalies == negative > 0
    assert not any(r["site_id"] == "SITE_001" for r in run.readings)


def test_a_yield_loss_grows_by_its_rate_a_day() -> None:
    clean, lossy = frame(rate=0), frame([YieldLoss("SITE_001", START, 10)], rate=0)
    ratio = (lossy.loc["SITE_001", "energy_generated_kwh"] / clean.loc["SITE_001", "energy_generated_kwh"]).dropna()
    noon_day_one = ratio.loc["2025-06-10T12:00Z"]
    noon_day_two = ratio.loc["2025-06-11T12:00Z"]
    assert noon_day_one == pytest.approx(0.95, abs=0.002)  # half a day at 10 % a day
    assert noon_day_two == pytest.approx(0.85, abs=0.002)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"silent": [("SITE_001", "not a time")]}, "silent SITE_001: not a timestamp"),
        ({"frozen": [("SITE_001", "2025-06-11", "x")]}, "frozen SITE_001: 'x' is not a number"),
        ({"outage": [("SITE_001", "2025-06-11", 0)]}, "hours must be a number above 0"),
        ({"yield_loss": [("SITE_001", "2025-06-11", 150)]}, "pct_per_day must be a number above 0 and at most 100"),
    ],
)
def test_bad_fault_values_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fault_model.requested(**kwargs)


def test_faults_from_plain_values_skip_an_empty_site_and_must_name_the_fleet() -> None:
    found = fault_model.requested(
        silent=[("", "2025-06-11T18:00:00Z")], outage=[("SITE_001", "2025-06-11T06:00:00Z", "2")]
    )
    assert found == [Outage("SITE_001", datetime(2025, 6, 11, 6, tzinfo=timezone.utc), 2.0)]
    assert fault_model.rows(found) == [
        {"fault": "outage", "site_id": "SITE_001", "start": found[0].start, "hours": 2.0}
    ]
    with pytest.raises(ValueError, match="names 'SITE_009', which is not in the fleet"):
        simulator.simulate(FLEET, START, 1, 15, 0, 1, [Silence("SITE_009", START)])
