"""Images: signed links to them, and the proxy that serves them.

``signing`` makes and checks the links, ``referer`` decides (and learns) which Referer an
image host wants, ``transfer`` moves one image from upstream to cache and readers, and
``proxy`` is the entry point the server calls.
"""
