"""``energy-workbook dashboard``: the pages of the workbook as a web app (Voilà), on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from energy_lib.config import Settings
from energy_lib.workbook.cli import reports
from energy_lib.workbook.cli.common import command, positive_int, whole_number
from energy_lib.workbook.notebook import dashboard


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> None:
    dashboard.serve(settings, Path(args.notebooks_dir), args.dashboard_port, args.pool_size, args.cull_idle_s)


def add_commands(commands: Any) -> None:
    p = command(
        commands,
        "dashboard",
        "serve the explorer, business report, operations, raw files and simulation panel as a web app",
        "Voilà on 127.0.0.1 only (never 0.0.0.0), one page per notebook, each run on this command's target "
        "(the local stack is started when needed); a page's query string sets its notebook's parameters, "
        "e.g. /voila/render/03-explore-readings.ipynb?site_id=SITE_002, checked as `report run -p` checks them "
        "(a bad value answers 400). A page opens on a warm kernel of a pool and its kernel ends when it closes; "
        "a kernel with no page open is shut down once idle for --cull-idle-s. Ctrl-C stops it.",
        run=cmd_dashboard,
        local=True,
    )
    p.add_argument(
        "--port", dest="dashboard_port", type=positive_int, default=8866, help="web port on 127.0.0.1 (default 8866)"
    )
    p.add_argument("--notebooks-dir", default=str(reports.NOTEBOOKS), help="folder of the notebooks")
    p.add_argument(
        "--pool-size",
        type=whole_number,
        default=dashboard.POOL_SIZE,
        help=f"warm kernels kept ready for the next pages (default {dashboard.POOL_SIZE}; 0: each page starts one)",
    )
    p.add_argument(
        "--cull-idle-s",
        type=whole_number,
        default=dashboard.CULL_IDLE_S,
        help=f"shut down a kernel with no page open after this many idle seconds (default {dashboard.CULL_IDLE_S}; "
        "0: never)",
    )
