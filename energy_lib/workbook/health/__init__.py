"""Site health: freshness (silent sites), data quality and PV performance per site and day, the alerts they raise,
and how the notebook shows them (the site registry they read is :mod:`energy_lib.workbook.sites.registry`).

:mod:`.thresholds` (every setting), :mod:`.freshness`, :mod:`.quality`, :mod:`.performance` (one function per
finding), :mod:`.sun` (pvlib solar position and clear sky), :mod:`.events`, :mod:`.assessment` (reads and runs
the checks), :mod:`.alerts` (SNS, once per period), :mod:`.views`, :mod:`.charts`, :mod:`.widgets`.
"""
