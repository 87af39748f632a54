"""The notebooks here are fixtures that tests/unit/test_reports.py executes through papermill.

One fails on purpose, so nbval (``pytest --nbval-lax tests``) must not collect them.
"""

collect_ignore_glob = ["*.ipynb"]
