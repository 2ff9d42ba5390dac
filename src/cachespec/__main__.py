"""``python -m cachespec`` is the ``cachespec`` console script."""

from cachespec._usage import main

raise SystemExit(main())
