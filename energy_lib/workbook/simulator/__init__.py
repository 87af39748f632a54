"""A simulated fleet of sites, its readings and the files it uploads under ``raw/``; faults on request."""

from energy_lib.workbook.simulator.faults import Fault, FrozenMeter, Outage, Silence, YieldLoss
from energy_lib.workbook.simulator.model import (
    FIELDS,
    FORMATS,
    ContinuousRun,
    SimulatedFile,
    SimulatedReading,
    Simulation,
    Site,
    default_fleet,
    load_profile,
    run_continuous,
    simulate,
    to_files,
    upload,
)

__all__ = [
    "FIELDS",
    "FORMATS",
    "ContinuousRun",
    "Fault",
    "FrozenMeter",
    "Outage",
    "Silence",
    "YieldLoss",
    "SimulatedFile",
    "SimulatedReading",
    "Simulation",
    "Site",
    "default_fleet",
    "load_profile",
    "run_continuous",
    "simulate",
    "to_files",
    "upload",
]
