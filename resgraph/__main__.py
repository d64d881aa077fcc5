"""``python -m resgraph``: the same as the ``resgraph`` command."""

import sys

from resgraph.cli import main

sys.exit(main())
