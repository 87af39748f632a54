"""A simulated fleet of sites, its readings and the files it uploads under ``raw/``."""

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
