"""A simulated fleet of sites, its readings and the files it uploads under ``raw/``."""

from energy_lib.workbook.simulator.model import (
    FIELDS,
    FORMATS,
    ContinuousRun,
    FleetEnergy,
    SimulatedFile,
    SimulatedReading,
    Simulation,
    Site,
    default_fleet,
    fleet_energy,
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
    "FleetEnergy",
    "SimulatedFile",
    "SimulatedReading",
    "Simulation",
    "Site",
    "default_fleet",
    "fleet_energy",
    "load_profile",
    "run_continuous",
    "simulate",
    "to_files",
    "upload",
]
