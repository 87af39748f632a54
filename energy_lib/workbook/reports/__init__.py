"""Notebooks run as reports: a papermill run into ``<reports_dir>/<notebook>/<run-id>/`` with its HTML
(:mod:`.runs`, :mod:`.export`), the run's record (:mod:`.records`), the notebook's parameters
(:mod:`.parameters`), the index page (:mod:`.index`) and the schedule for cron (:mod:`.schedule`); and what runs
unattended need: why a run failed (:mod:`.failures`), the figures a notebook records (:mod:`.figures`), the run
history (:mod:`.history`) and the alerts of failures and recoveries (:mod:`.alerts`, :mod:`.unattended`)."""

from energy_lib.workbook.reports.export import export_html
from energy_lib.workbook.reports.figures import record, record_all
from energy_lib.workbook.reports.history import HISTORY_FILE, HistoryStore
from energy_lib.workbook.reports.index import INDEX_FILE, write_index
from energy_lib.workbook.reports.parameters import (
    Parameter,
    declared_parameters,
    resolve_notebook,
    validate_parameters,
)
from energy_lib.workbook.reports.records import (
    REASONS,
    ParameterError,
    ReportBusy,
    ReportError,
    ReportFailed,
    RunRecord,
    list_runs,
)
from energy_lib.workbook.reports.runs import run_report
from energy_lib.workbook.reports.schedule import (
    EVERY,
    DueReport,
    ScheduleEntry,
    due,
    load_schedule,
    period_bounds,
    resolve_parameters,
    run_due,
    template_context,
)

__all__ = [
    "EVERY",
    "HISTORY_FILE",
    "INDEX_FILE",
    "REASONS",
    "DueReport",
    "HistoryStore",
    "Parameter",
    "ParameterError",
    "ReportBusy",
    "ReportError",
    "ReportFailed",
    "RunRecord",
    "ScheduleEntry",
    "declared_parameters",
    "due",
    "export_html",
    "list_runs",
    "load_schedule",
    "period_bounds",
    "record",
    "record_all",
    "resolve_notebook",
    "resolve_parameters",
    "run_due",
    "run_report",
    "template_context",
    "validate_parameters",
    "write_index",
]
