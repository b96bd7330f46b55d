"""The `evidence` pack: junk known by generic evidence, not by a site list. Part of the clean
stage; does no I/O.

- `widget_tokens`: an element whose class, id or data-* names (split into whole words on
  `-`, `_`, spaces and camelCase) name an ad, sponsor, promo, newsletter, subscription,
  social/share or related-content widget, and that carries little text (mostly links, or a
  line or two), holds no code, table, quote, figure, formula or video, does not sit inside a
  sentence and is not the item's only content. Whole words only: `shadow`, `header`, `lead`,
  `download` never read as "ad"; taxonomy classes (`category-advertising`, `tag-sponsored`)
  say what an article is about, not what a widget is, and are not read.
- `ad_labels`: a block whose whole text is an ad label ("Advertisement", "Anzeige",
  スポンサーリンク, 广告, 광고…), with the empty ad slot next to it.
- `subscription_forms`: a subscription form's whole container (an email field or a subscribe
  button in a <form>, or in a newsletter/subscribe/signup-named block) with its leftover lines
  ("Enter your email", "No spam. Unsubscribe anytime."), when nothing else is in it.
- `tracker_images`: images from tracker URL shapes (Matomo/Piwik endpoints, `/pixel`,
  `/track`, `/open`, `/beacon` endpoints carrying an id) and ad-system hosts whatever their
  size; the `pixels` pack has the 1×1 images and the platform hosts already.
- `related_lists`: a related-reading label line (往期推荐, 相关文章, 関連記事, "Related posts",
  "Leia também"…) followed to the item's end only by link lines or images, or heading its
  list inside one block that holds nothing else (`<div>相关文章：<ul>…</ul></div>`, anywhere).
- `shopping_lists`: a block holding only a shopping label (购买链接, 推荐的购买链接, "Where to
  buy", "Shop the post", 購入はこちら…) and a list of shop links, or such a label line right
  before that list.
- `disclaimers`: a views, rights or aggregation notice at the item's edge (edges.py): 本文观点
  不代表本站立场, 版权归原作者所有，如有侵权请联系删除, "The views expressed in this article are
  the author's own", "All rights reserved", 無断転載を禁じます, 本文由自动聚合程序取自网络.
- `download_prompts`: a short line at the item's edge, with a link, asking the reader to
  download or install an app or a program (请点击这里下载…软件, "Download our app").

Precision over recall: each rule needs its evidence and a small amount of text together, so
an article about advertising, a `social-media-article` with paragraphs, or a paper's
related-work section stays.
"""

from __future__ import annotations

# Imported in run order: each module registers its rule with the pack when imported, and
# the forms go before the widgets (a newsletter block goes with its leftover lines).
# isort: off
from proxy.clean.packs.evidence import labels
from proxy.clean.packs.evidence import forms
from proxy.clean.packs.evidence import widgets
from proxy.clean.packs.evidence import trackers
from proxy.clean.packs.evidence import related
from proxy.clean.packs.evidence import shopping
from proxy.clean.packs.evidence import disclaimers
from proxy.clean.packs.evidence import downloads

# isort: on
from proxy.clean.packs.evidence.common import PACK, visible_text
from proxy.clean.packs.evidence.names import names_widget, words_of
from proxy.clean.packs.evidence.trackers import is_tracker_url

__all__ = [
    "PACK",
    "disclaimers",
    "downloads",
    "forms",
    "is_tracker_url",
    "labels",
    "names_widget",
    "related",
    "shopping",
    "trackers",
    "visible_text",
    "widgets",
    "words_of",
]
