"""Entry point for ``python -m gillint``."""

import sys

from gillint.frontends.cli import main

if __name__ == "__main__":  # pool workers may import this module under spawn
    sys.exit(main())
