"""``python -m conformance.crosscheck [SCENARIO ...]``: the comparison table."""

from __future__ import annotations

import sys

from conformance.crosscheck import main

sys.exit(main(sys.argv[1:]))
