"""Settings: env beats file beats default; bad values name themselves; secrets are masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.config import OPTIONS, Settings, load
from proxy.errors import ConfigError


def test_defaults_match_the_design() -> None:
    settings = load(environ={})
    assert (settings.host, settings.port, settings.ttl) == ("0.0.0.0", 8080, 900)
    assert settings.cache_dir == "./data"
    assert settings.images == "proxy"
    assert settings.allow_private is False
    assert settings.fetch_timeout == 20.0
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.max_redirects == 5


def test_every_option_is_a_settings_field() -> None:
    assert [o.name for o in OPTIONS] == list(Settings.__dataclass_fields__)


def test_environment_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "feedscrub.toml"
    config.write_text('ttl = 60\n[server]\nport = 9000\nimages = "absolute"\n')
    settings = load(str(config), {"FEEDSCRUB_PORT": "9100"})
    assert settings.ttl == 60  # file
    assert settings.port == 9100  # environment wins
    assert settings.images == "absolute"
    assert settings.config == str(config)


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[server]\nallow_private = true\n")
    assert load(environ={"FEEDSCRUB_CONFIG": str(config)}).allow_private is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FEEDSCRUB_TTL": "ten"}, "FEEDSCRUB_TTL has value 'ten'. Not a valid integer."),
        ({"FEEDSCRUB_ALLOW_PRIVATE": "maybe"}, "FEEDSCRUB_ALLOW_PRIVATE has value 'maybe'"),
        ({"FEEDSCRUB_FETCH_TIMEOUT": "soon"}, "Not a valid number"),
        ({"FEEDSCRUB_IMAGES": "magic"}, "FEEDSCRUB_IMAGES has value 'magic'"),
        ({"FEEDSCRUB_IMAGES": "template"}, "requires FEEDSCRUB_IMAGE_TEMPLATE"),
        ({"FEEDSCRUB_TTL": "0"}, "FEEDSCRUB_TTL must be greater than 0"),
        ({"FEEDSCRUB_PUBLIC_URL": "proxy.example"}, "must start with http"),
        ({"FEEDSCRUB_LOG_LEVEL": "loud"}, "FEEDSCRUB_LOG_LEVEL"),
        ({"FEEDSCRUB_PORT": "70000"}, "Not a valid port"),
    ],
)
def test_bad_values_name_themselves(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ=environ)
    assert message in caught.value.message


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(str(tmp_path / "missing.toml"), {})
    broken = tmp_path / "broken.toml"
    broken.write_text("ttl = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(str(broken), {})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[server]\ntll = 3\n")
    with pytest.raises(ConfigError, match="server.tll: unknown setting"):
        load(str(unknown), {})
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text("[server]\nport = true\n")
    with pytest.raises(ConfigError, match="port"):
        load(str(wrong_type), {})


def test_secrets_are_redacted() -> None:
    shown = load(environ={"FEEDSCRUB_SECRET": "hunter2"}).redacted()
    assert shown["secret"] == "<redacted>"
    assert "hunter2" not in repr(shown)


def test_template_mode_with_template() -> None:
    settings = load(
        environ={
            "FEEDSCRUB_IMAGES": "template",
            "FEEDSCRUB_IMAGE_TEMPLATE": "https://img.example/?u={url_encoded}",
        }
    )
    assert settings.images == "template"
