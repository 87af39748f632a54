"""Every setting of the site-health checks, with its default and unit, in one light module (no pandas: the
command line's --help reads the defaults). The check functions take the same names as keyword arguments."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SILENT_AFTER_INTERVALS = 6.0  # a site is silent when its last reading is older than this many intervals [count]
GAP_MINUTES = 60.0  # a run of missing readings at least this long is a gap event [min]
FROZEN_INTERVALS = 6  # daylight intervals in a row with the same non-zero generation: a frozen meter [count]
FROZEN_RTOL = 1e-5  # relative tolerance of "the same" (numpy.allclose) [-]
FROZEN_ATOL_KWH = 1e-6  # absolute tolerance of "the same" [kWh]
OUTAGE_INTERVALS = 3  # daylight intervals in a row with zero generation: a daytime outage [count]
MIN_ELEVATION_DEG = 5.0  # the sun "is up" for outage and daylight checks when at least this high [degrees]
NIGHT_THRESHOLD_KWH = 0.0  # generation above this in a night interval is night generation [kWh]
BASELINE_DAYS = 14  # days before a day whose median index is its baseline [days]
MIN_BASELINE_DAYS = 3  # fewer days with an index before it: no baseline, no verdict [days]
MARGIN_PCT = 30.0  # an index this far below the baseline is low [%]
UNDERPERFORMANCE_DAYS = 3  # low days in a row that make underperformance [days]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The settings of one assessment (docs/site-health.md); ValueError for a value that cannot work."""

    silent_after_intervals: float = SILENT_AFTER_INTERVALS  # [count]
    gap_minutes: float = GAP_MINUTES  # [min]
    frozen_intervals: int = FROZEN_INTERVALS  # [count]
    outage_intervals: int = OUTAGE_INTERVALS  # [count]
    min_elevation_deg: float = MIN_ELEVATION_DEG  # [degrees]
    night_threshold_kwh: float = NIGHT_THRESHOLD_KWH  # [kWh]
    baseline_days: int = BASELINE_DAYS  # [days]
    min_baseline_days: int = MIN_BASELINE_DAYS  # [days]
    margin_pct: float = MARGIN_PCT  # [%]
    underperformance_days: int = UNDERPERFORMANCE_DAYS  # [days]

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValueError(f"{name} must be a number, not {value!r}")
        positive = ("silent_after_intervals", "gap_minutes", "baseline_days", "min_baseline_days")
        whole = ("frozen_intervals", "outage_intervals", "baseline_days", "min_baseline_days", "underperformance_days")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be above 0, not {getattr(self, name)!r}")
        for name in whole:
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {getattr(self, name)!r}")
        if self.frozen_intervals < 2:
            raise ValueError(f"frozen_intervals must be at least 2, not {self.frozen_intervals!r}")
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("min_baseline_days must not exceed baseline_days")
        if not 0 < self.margin_pct < 100 or not -90 <= self.min_elevation_deg <= 90 or self.night_threshold_kwh < 0:
            raise ValueError("need 0 < margin_pct < 100, -90 <= min_elevation_deg <= 90, night_threshold_kwh >= 0")


DEFAULTS = Thresholds()
