"""The workbook side of energy_lib: DataFrames, charts, widgets, reports, simulator, local stack, CLI.

It may import pandas, plotly, ipywidgets and papermill; nothing outside this package imports it.
"""
