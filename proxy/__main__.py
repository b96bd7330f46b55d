"""`python -m proxy …` is the same as `feedscrub …`."""

from proxy.cli import main

raise SystemExit(main())
