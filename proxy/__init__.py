"""feedscrub: a self-hosted feed-cleaning proxy. Importing the package has no side effects."""

__version__ = "0.1.0"
