"""Settings: ``options`` is the one table (names, types, defaults, help, checks), ``loading``
builds a frozen ``Settings`` from the environment, a config file and the command line.
"""

from proxy.config.loading import from_document, load, read_config_file
from proxy.config.options import (
    ENV_PREFIX,
    IMAGE_MODES,
    LOG_LEVELS,
    MB,
    OPTIONS,
    OPTIONS_BY_NAME,
    REFERER_POLICIES,
    Option,
    Settings,
    is_referer_policy,
)

__all__ = [
    "ENV_PREFIX",
    "IMAGE_MODES",
    "LOG_LEVELS",
    "MB",
    "OPTIONS",
    "OPTIONS_BY_NAME",
    "REFERER_POLICIES",
    "Option",
    "Settings",
    "from_document",
    "is_referer_policy",
    "load",
    "read_config_file",
]
