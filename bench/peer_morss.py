"""morss (pictuga/morss, the Python peer) as a local server, for bench/run.py's target 2.

    python bench/peer_morss.py --install   # pip install morss into bench/.peers/morss

morss is a peer, never a dependency: it lives in its own venv under bench/.peers/
(gitignored). Its server is started on 127.0.0.1 only (its own `morss` entry point binds
every interface), with the item caps lifted (LIM_ITEM/LIM_TIME, else it drops items past 10
or past 2.5 s) and `:proxy` (no article fetching), so both proxies serve every item of the
same feed and fetch nothing but it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent / ".peers"
VENV = PEERS / "morss"
PYTHON = VENV / "bin" / "python"

LAUNCH = """
import sys, wsgiref.simple_server
from morss.wsgi import application, WSGIRequestHandlerRequestUri
server = wsgiref.simple_server.make_server(
    '127.0.0.1', int(sys.argv[1]), application, handler_class=WSGIRequestHandlerRequestUri)
server.serve_forever()
"""


def installed() -> bool:
    return (
        PYTHON.exists()
        and subprocess.run([str(PYTHON), "-c", "import morss"], capture_output=True).returncode == 0
    )


def install() -> None:
    """A venv of its own with morss from PyPI (its ordinary client, pip)."""
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "morss"], check=True)


def serve(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIM_ITEM": "-1",
        "LIM_TIME": "-1",
        "MAX_ITEM": "0",
        "MAX_TIME": "0",
        "CACHE_SIZE": "1000",
    }
    return subprocess.Popen(
        [str(PYTHON), "-c", LAUNCH, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def url(port: int, upstream: str) -> str:
    """morss's URL for a feed: options as path segments, then the feed's URL."""
    return f"http://127.0.0.1:{port}/:proxy/{upstream}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true")
    if parser.parse_args().install:
        install()
    print("morss installed" if installed() else "morss not installed")
