"""``python -m hipsense.cli``."""

import sys

from hipsense.cli import main

sys.exit(main())
