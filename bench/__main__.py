"""``python -m bench``: see bench/README.md."""

from .harness import main

raise SystemExit(main())
