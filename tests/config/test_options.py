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
        ({"FEEDSCRUB_TTL": "0"}, "FEEDSCRUB_TTL has value 0. It must be greater than 0"),
        ({"FEEDSCRUB_IMAGE_REFERER": "bogus"}, "FEEDSCRUB_IMAGE_REFERER has value 'bogus'"),
        ({"FEEDSCRUB_IMAGE_CACHE_BYTES": "0"}, "FEEDSCRUB_IMAGE_CACHE_BYTES has value 0"),
        ({"FEEDSCRUB_MAX_MEDIA_BYTES": "-1"}, "FEEDSCRUB_MAX_MEDIA_BYTES has value -1"),
        ({"FEEDSCRUB_PROTECT_NAMED": "true"}, "FEEDSCRUB_PROTECT_NAMED=true requires"),
        ({"FEEDSCRUB_PROTECT_METRICS": "1"}, "FEEDSCRUB_PROTECT_METRICS=true requires"),
        ({"FEEDSCRUB_DENY_HOSTS": "https://evil.test/"}, "FEEDSCRUB_DENY_HOSTS has value"),
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
    top_level = tmp_path / "top.toml"
    top_level.write_text("tll = 3\n")
    with pytest.raises(ConfigError) as caught:
        load(str(top_level), {})
    assert caught.value.problems == (
        f"{top_level}: tll: unknown setting (known: "
        + caught.value.problems[0].split("(known: ")[1],
    )
    assert "server.tll" not in caught.value.message
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


def test_every_problem_is_reported_once_with_where_and_value(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('ttl = "soon"\n[server]\nport = "x"\nimages = "magic"\n')
    with pytest.raises(ConfigError) as caught:
        load(str(config), {"FEEDSCRUB_IMAGE_REFERER": "sometimes"})
    assert caught.value.problems == (
        f"{config}: ttl has value 'soon'. Not a valid integer.",
        f"{config}: server.port has value 'x'. Not a valid integer.",
        f"{config}: server.images has value 'magic'. Use one of: proxy, template, absolute, none.",
        "FEEDSCRUB_IMAGE_REFERER has value 'sometimes'. "
        "Use one of: none, origin, image, or an http(s) URL.",
    )


def test_the_table_is_read_from_the_settings() -> None:
    defaults = Settings()
    for option in OPTIONS:
        assert getattr(defaults, option.name) == option.default
        assert isinstance(option.default, option.type)
        assert option.help
    assert OPTIONS[0].env == "FEEDSCRUB_HOST"
    assert Settings().problems() == []


def test_settings_built_by_hand_are_checked_alike() -> None:
    assert Settings(image_referer="bogus").problems() == [
        "FEEDSCRUB_IMAGE_REFERER has value 'bogus'. "
        "Use one of: none, origin, image, or an http(s) URL."
    ]
    with pytest.raises(ConfigError, match="FEEDSCRUB_PROTECT_NAMED=true requires"):
        Settings(protect_named=True).validate()


def test_short_access_key_is_a_warning() -> None:
    assert Settings(access_key="short").warnings()
    assert not Settings(access_key="x" * 32).warnings()
