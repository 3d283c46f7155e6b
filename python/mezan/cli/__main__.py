"""``python -m mezan.cli``: the ``mezan`` command."""

import sys

from mezan.cli.root import main

sys.exit(main())
