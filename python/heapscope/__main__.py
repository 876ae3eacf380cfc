"""``python -m heapscope``: see ``heapscope.cli``."""

import sys

from heapscope.cli import main

if __name__ == "__main__":
    sys.exit(main())
