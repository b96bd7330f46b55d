"""docker-compose.yml, as Debian's `docker-compose config` (1.29) reads it: one service built
from this repo, its cache in a named volume at /data, port 8080, the CLI healthcheck, a
restart policy, and only settings the proxy knows; the "scale" profile: Valkey, three
replicas sharing it, nginx in front with the one published port. Fast: nothing is built or
started.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from proxy.config import OPTIONS

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKER_COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    DOCKER_COMPOSE is None,
    reason="docker-compose is not installed (bash .ci/container-setup.sh installs Debian's)",
)


def _to_data(yaml_text: str) -> Any:
    """YAML to Python: with PyYAML if this Python has it, else with docker-compose's own
    interpreter (Debian's docker-compose is Python and always brings PyYAML along)."""
    try:
        import yaml  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        return yaml.safe_load(yaml_text)
    assert DOCKER_COMPOSE is not None
    shebang = Path(DOCKER_COMPOSE).read_text("utf-8", errors="replace").splitlines()[0]
    interpreter = shebang.removeprefix("#!").split()
    to_json = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"
    converted = subprocess.run(
        [*interpreter, "-c", to_json],
        input=yaml_text,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(converted.stdout)


def compose_config(**env: str) -> dict[str, Any]:
    """`docker-compose config`: validates the file and prints it with variables resolved."""
    assert DOCKER_COMPOSE is not None
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSCRUB_", "COMPOSE_"))}
    result = subprocess.run(
        [DOCKER_COMPOSE, "--file", str(COMPOSE_FILE), "--project-directory", str(REPO), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config rejected the file:\n{result.stderr}"
    data = _to_data(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config()


@pytest.fixture(scope="module")
def service(config: dict[str, Any]) -> dict[str, Any]:
    # `config` (1.29) lists every profile's services; without a profile only this one runs.
    unprofiled = [n for n, s in config["services"].items() if not s.get("profiles")]
    assert unprofiled == ["feedscrub"]
    return config["services"]["feedscrub"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def scale(config: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in config["services"].items() if "scale" in s.get("profiles", [])}


def _published(ports: list[Any]) -> list[tuple[str, str, str]]:
    """(host_ip, published, target) from the long syntax or from "[ip:]published:target[/tcp]"."""
    found = []
    for port in ports:
        if isinstance(port, dict):
            found.append(
                (str(port.get("host_ip", "")), str(port["published"]), str(port["target"]))
            )
            continue
        parts = str(port).removesuffix("/tcp").split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        found.append((host_ip, parts[-2], parts[-1]))
    return found


def test_service_is_built_from_this_repo(service: dict[str, Any]) -> None:
    build = service["build"]
    context = build["context"] if isinstance(build, dict) else build
    assert Path(context).resolve() == REPO
    assert service["image"] == "feedscrub:latest"


def test_cache_lives_in_a_named_volume_at_data(
    config: dict[str, Any], service: dict[str, Any]
) -> None:
    assert "feedscrub-data" in config["volumes"]
    mounts = []
    for volume in service["volumes"]:
        if isinstance(volume, dict):
            mounts.append((volume["source"], volume["target"]))
        else:
            source, target, *_ = str(volume).split(":")
            mounts.append((source, target))
    assert ("feedscrub-data", "/data") in mounts


def test_publishes_port_8080_and_lets_the_host_port_change(service: dict[str, Any]) -> None:
    assert _published(service["ports"]) == [("", "8080", "8080")]
    moved = compose_config(FEEDSCRUB_PUBLISH_PORT="127.0.0.1:9000")["services"]["feedscrub"]
    assert _published(moved["ports"]) == [("127.0.0.1", "9000", "8080")]


def test_healthcheck_runs_the_cli_in_exec_form(service: dict[str, Any]) -> None:
    check = service["healthcheck"]
    assert check["test"] == ["CMD", "feedscrub", "healthcheck"]
    assert {"interval", "timeout", "retries"} <= set(check)


def test_restarts_unless_stopped(service: dict[str, Any]) -> None:
    assert service["restart"] == "unless-stopped"


def test_runs_as_the_images_non_root_user(service: dict[str, Any]) -> None:
    assert "user" not in service, "the compose file should keep the image's own user"
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text("utf-8"), re.MULTILINE)
    assert users, "the Dockerfile sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_mentions_only_settings_the_proxy_knows(service: dict[str, Any]) -> None:
    known = {option.env for option in OPTIONS}
    active = {name for name in service.get("environment", {}) if name.startswith("FEEDSCRUB_")}
    assert active <= known
    # The commented-out examples a self-hoster enables must be real settings too.
    text = COMPOSE_FILE.read_text("utf-8")
    commented = set(re.findall(r"^\s*#\s*(FEEDSCRUB_[A-Z_]+):", text, re.MULTILINE))
    assert commented, "expected commented optional settings (FEEDSCRUB_PUBLIC_URL, …)"
    assert commented <= known, commented - known
    assert {"FEEDSCRUB_PUBLIC_URL", "FEEDSCRUB_CONFIG"} <= commented | active


# --- the "scale" profile ----------------------------------------------------------------------

REPLICAS = ("feedscrub-1", "feedscrub-2", "feedscrub-3")


def test_scale_profile_is_valkey_three_replicas_and_a_load_balancer(
    scale: dict[str, Any],
) -> None:
    assert set(scale) == {"valkey", "feedscrub-lb", *REPLICAS}
    assert "valkey" in scale["valkey"]["image"]
    assert "nginx" in scale["feedscrub-lb"]["image"]
    assert set(scale["feedscrub-lb"]["depends_on"]) == set(REPLICAS)


def test_scale_profile_publishes_one_port(scale: dict[str, Any]) -> None:
    published = {name: _published(s["ports"]) for name, s in scale.items() if s.get("ports")}
    assert published == {"feedscrub-lb": [("", "8081", "8080")]}
    moved = compose_config(FEEDSCRUB_SCALE_PORT="127.0.0.1:9001")["services"]["feedscrub-lb"]
    assert _published(moved["ports"]) == [("127.0.0.1", "9001", "8080")]


def test_replicas_share_valkey_and_keep_their_own_volume(scale: dict[str, Any]) -> None:
    known = {option.env for option in OPTIONS}
    volumes = set()
    for name in REPLICAS:
        replica = scale[name]
        environment = replica["environment"]
        assert environment["FEEDSCRUB_CACHE_URL"] == "redis://valkey:6379/0"
        assert {k for k in environment if k.startswith("FEEDSCRUB_")} <= known
        assert "valkey" in replica["depends_on"]
        assert replica["healthcheck"]["test"] == ["CMD", "feedscrub", "healthcheck"]
        assert replica["image"] == "feedscrub:latest"
        (volume,) = replica["volumes"]
        source, target = (
            (volume["source"], volume["target"]) if isinstance(volume, dict)
            else str(volume).split(":")[:2]
        )
        assert target == "/data"
        volumes.add(source)
    assert len(volumes) == 3  # image caches are per replica (README: what is not shared)


def test_valkey_evicts_cache_entries_never_the_signing_key(scale: dict[str, Any]) -> None:
    command = scale["valkey"]["command"]
    text = " ".join(command) if isinstance(command, list) else str(command)
    assert "--maxmemory-policy volatile-lru" in text and "--maxmemory " in text


def test_load_balancer_config_fronts_the_three_replicas(scale: dict[str, Any]) -> None:
    (mount,) = scale["feedscrub-lb"]["volumes"]
    source = mount["source"] if isinstance(mount, dict) else str(mount).split(":")[0]
    conf = Path(source)
    assert conf.resolve() == REPO / "deploy" / "nginx-scale.conf"
    text = conf.read_text("utf-8")
    for name in REPLICAS:
        assert f"server {name}:8080" in text
    assert "listen 8080;" in text
    assert "proxy_next_upstream" in text  # a replica restarting is skipped, not an error
