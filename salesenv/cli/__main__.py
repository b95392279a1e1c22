"""`python -m salesenv.cli` runs the `salesenv` command."""

import sys

from salesenv.cli import main

sys.exit(main())
