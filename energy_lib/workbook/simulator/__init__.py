"""A simulated fleet of sites (:mod:`.model`: sites, pvlib, load, anomalies), the files it uploads under
``raw/`` (:mod:`.files`: encode, upload, continuous) and the faults it injects on request (:mod:`.faults`);
:mod:`.runs` runs them on a target (the command line and the simulation panel)."""

from energy_lib.workbook.simulator.faults import Fault, FrozenMeter, Outage, Silence, YieldLoss
from energy_lib.workbook.simulator.files import (
    FIELDS,
    FORMATS,
    ContinuousRun,
    SimulatedFile,
    run_continuous,
    to_files,
    upload,
)
from energy_lib.workbook.simulator.model import (
    FleetEnergy,
    SimulatedReading,
    Simulation,
    Site,
    default_fleet,
    fleet_energy,
    load_profile,
    registry_entries,
    simulate,
)

__all__ = [
    "FIELDS",
    "FORMATS",
    "ContinuousRun",
    "Fault",
    "FleetEnergy",
    "FrozenMeter",
    "Outage",
    "Silence",
    "SimulatedFile",
    "SimulatedReading",
    "Simulation",
    "Site",
    "YieldLoss",
    "default_fleet",
    "fleet_energy",
    "load_profile",
    "registry_entries",
    "run_continuous",
    "simulate",
    "to_files",
    "upload",
]
