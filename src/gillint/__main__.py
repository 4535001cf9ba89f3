"""Entry point for ``python -m gillint``."""

import sys

from gillint.cli import main

sys.exit(main())
