"""``python -m wgm`` is the ``wgm`` command."""

import sys

from wgm.cli import main

sys.exit(main())
