"""The workspace config file and its documented defaults."""

import tomllib

from factory.config import DEFAULT_CONFIG_TOML, WorkspaceConfig


def test_the_documented_config_file_states_every_default():
    """`factory init` writes DEFAULT_CONFIG_TOML; every threshold in it is the model's default."""
    written = tomllib.loads(DEFAULT_CONFIG_TOML)
    defaults = WorkspaceConfig().model_dump()
    for section, values in defaults.items():
        for key, value in values.items():
            if key == "severity":
                continue
            assert written[section][key] == value, f"{section}.{key}"
