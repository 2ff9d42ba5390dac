"""``python -m cachespec`` is the ``cachespec`` console script."""

from cachespec._cli import main

raise SystemExit(main())
