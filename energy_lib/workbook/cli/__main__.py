"""``python -m energy_lib.workbook.cli``: the ``energy-workbook`` command."""

import sys

from energy_lib.workbook.cli.main import main

sys.exit(main())
