"""The command line: ``main`` parses the command and runs it; ``clean`` is the one-shot
pipeline. Settings are loaded once, here, and every failure is one line on stderr.
"""

from proxy.cli.main import main

__all__ = ["main"]
