"""``python -m gilcheck``: the same command as the ``gilcheck`` console script."""

from gilcheck.cli import main

raise SystemExit(main())
