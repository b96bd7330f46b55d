"""Full text: the article behind each item's link, in place of the feed's own content.

``decode`` turns page bytes into text, ``extract`` finds the article in it (no I/O),
``filler`` fetches within a time budget and caches, ``siteconfig`` reads FiveFilters rules.
"""
