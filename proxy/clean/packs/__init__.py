"""The built-in rule packs, one module each; RUN_ORDER is the default run order.

`escaped` runs first (it turns a double-escaped item back into markup for everyone after
it), `cloudflare` before `share` (a decoded address is a mailto: with a recipient) and
`formulas` early too, while math renderers' wrappers are whole. The platform packs come
after `spans` (they read paragraph text, direct once bare spans are gone), `tracking`
after every rule that removes links, `empty` after everything that can leave a container
empty, and `separators` last, to trim what the footers left at the ends.
`evidence` (generic widget, label, form and tracker evidence) comes after the platform
packs, so what they know is attributed to them, and before `auto`, `tracking` and `empty`,
which tidy what it leaves. A new pack goes where its inputs are ready: `auto`, the feed rule
that compares items (boilerplate), after the platform packs (what they know is attributed
to them) and before `tracking`/`empty`/`separators`.
"""

from __future__ import annotations

from proxy.clean.packs import (  # noqa: F401 (imported to register the packs)
    auto,
    blogger,
    cloudflare,
    empty,
    escaped,
    evidence,
    feedburner,
    feedx,
    formulas,
    ghost,
    medium,
    networks,
    pixels,
    separators,
    share,
    spans,
    substack,
    tracking,
    tweets,
    wechat,
    wordpress,
    yoast,
)
from proxy.clean.registry import set_order

RUN_ORDER = (
    "escaped",
    "cloudflare",
    "formulas",
    "feedx",
    "share",
    "networks",
    "tweets",
    "pixels",
    "spans",
    "wordpress",
    "yoast",
    "feedburner",
    "medium",
    "substack",
    "blogger",
    "ghost",
    "wechat",
    "evidence",
    "auto",
    "tracking",
    "empty",
    "separators",
)
set_order(RUN_ORDER)
