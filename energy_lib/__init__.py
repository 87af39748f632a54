"""energy_lib: the logic of the energy workbook.

The modules directly in this package are the Lambda side (stdlib and boto3 only) and ship in the
Lambda zip; :mod:`energy_lib.workbook` is the workbook side (pandas, plotly, widgets, papermill).
"""

from energy_lib.config import Settings
from energy_lib.errors import EnergyError

__all__ = ["EnergyError", "Settings"]
