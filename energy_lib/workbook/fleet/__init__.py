"""Fleet performance the way RdTools and PVAnalytics measure it: availability and lost energy by cause,
performance ratio, degradation with its confidence intervals, soiling, clipping and clock shifts, per site over
any period, from the lake (:mod:`.analysis`)."""
