"""``python -m wgm`` is the ``wgm`` command."""

import sys

from .cli import main

sys.exit(main())
