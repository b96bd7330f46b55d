"""The built-in rule packs, one module each; RUN_ORDER is the default run order.

The platform packs come after `spans` (they read paragraph text, direct once bare spans are
gone), `tracking` after every rule that removes links, `empty` after everything that can
leave a container empty, and `separators` last, to trim what the footers left at the ends.
A new pack goes where its inputs are ready: a feed rule that compares items (boilerplate)
after the platform packs and before `tracking`/`empty`/`separators`.
"""

from __future__ import annotations

from proxy.clean.packs import (  # noqa: F401 (imported to register the packs)
    empty,
    feedburner,
    feedx,
    medium,
    pixels,
    separators,
    share,
    spans,
    substack,
    tracking,
    wordpress,
)
from proxy.clean.registry import set_order

RUN_ORDER = (
    "feedx",
    "share",
    "pixels",
    "spans",
    "wordpress",
    "feedburner",
    "medium",
    "substack",
    "tracking",
    "empty",
    "separators",
)
set_order(RUN_ORDER)
