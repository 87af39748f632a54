"""The workbook side of energy_lib: DataFrames, charts, widgets, reports, simulator, local stack, CLI.

It may import pandas, plotly, ipywidgets and papermill; nothing outside this package imports it.

Its packages (and top-level modules) stand in layers and import downward only: a package may import the Lambda
side and the packages of lower layers, never one of its own layer or above (``tests/unit/test_layers.py``).
"""

# lowest first; the packages of one layer do not import each other
LAYERS: tuple[tuple[str, ...], ...] = (
    ("infra",),  # the resources' spec, the configuration they must have, the Lambda zips
    ("lake",),  # the history lake: SQL over DuckDB or Athena
    ("aws",),  # the pipeline's resources on either target: operate, check, read the stream
    ("local",),  # the local stack: moto, the provisioner, the local Lambda runtime and stream player
    ("connect",),  # connect once to a target (starts the local stack when it is the target)
    ("sites", "reports"),  # the site registry; reports run with papermill, their schedule and index
    ("simulator",),  # a simulated fleet and the files it uploads
    ("notebook",),  # what the notebooks show: frames, charts, widgets, views, the dashboard
    ("health", "fleet"),  # site health: checks, events, alerts; fleet performance: RdTools and PVAnalytics per site
    ("cli",),  # energy-workbook
)
