"""Every finite float below 10^20 kWh, as Python's json writes it, is a reading stored at 9 decimals (issue 25).

The same property through the handler, the rollups and the lake: tests/integration/test_numbers.py.
"""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from hypothesis import event, given, settings
from hypothesis import strategies as st

from energy_lib.config import Settings
from energy_lib.parsing import read_records
from energy_lib.rules import assess
from energy_lib.validation import validate_records

BOUND = 1e20  # exactly representable as a float
finite_in_bound = st.floats(
    min_value=-BOUND, max_value=BOUND, exclude_min=True, exclude_max=True, allow_nan=False, allow_infinity=False
)


def expected(x: float) -> Decimal:
    with localcontext(prec=50):
        return Decimal(repr(x)).quantize(Decimal("1e-9"), ROUND_HALF_EVEN)


@settings(max_examples=2000, deadline=None)
@given(generated=finite_in_bound, consumed=finite_in_bound, csv=st.booleans())
def test_every_finite_float_in_the_bound_is_stored_at_9_decimals_half_to_even(generated, consumed, csv):
    # GIVEN a reading whose values are floats as Python's json (or a CSV writer, with repr) writes them
    if csv:
        body = f"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS,1749643200,{generated!r},{consumed!r}\n"
        key = "raw/f.csv"
    else:
        body = json.dumps(
            {
                "site_id": "S",
                "timestamp": 1749643200,
                "energy_generated_kwh": generated,
                "energy_consumed_kwh": consumed,
            }
        )
        key = "raw/f.json"
    # WHEN it is parsed and validated
    parsed = validate_records(read_records(io.BytesIO(body.encode()), key, Settings()))
    with localcontext(prec=50):
        net = expected(generated) - expected(consumed)
    if abs(net) >= 10**20:  # two values in the bound whose difference is not: the net bound, unchanged
        assert [reject.reasons for reject in parsed.rejects] == [("out_of_range:net_energy_kwh",)]
        return
    # THEN it is a reading whose values are Decimal(repr(x)) rounded half to even to 9 decimals, exactly
    [reading] = parsed.readings
    assert (reading.energy_generated_kwh, reading.energy_consumed_kwh) == (expected(generated), expected(consumed))
    assert reading.net_energy_kwh == net
    # AND it names exactly the fields whose value the rounding changed
    changed = [
        name
        for name, x in (("energy_generated_kwh", generated), ("energy_consumed_kwh", consumed))
        if expected(x) != Decimal(repr(x))
    ]
    assert list(reading.rounded) == changed
    event(f"fields rounded: {len(changed)}")  # --hypothesis-show-statistics: how often rounding was exercised
    # AND the anomaly rules judge the stored values
    verdict = assess(reading, Settings())
    assert ("negative_generation" in verdict.reasons) is (expected(generated) < 0)
