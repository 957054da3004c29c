"""The workspace config file and its documented defaults."""

import tomllib

import pytest

from factory.config import DEFAULT_CONFIG_TOML, WorkspaceConfig, load_config
from factory.errors import FactoryError


def test_the_documented_config_file_states_every_default():
    """`factory init` writes DEFAULT_CONFIG_TOML; every threshold in it is the model's default."""
    written = tomllib.loads(DEFAULT_CONFIG_TOML)
    defaults = WorkspaceConfig().model_dump()
    for section, values in defaults.items():
        for key, value in values.items():
            if key == "severity":
                continue
            assert written[section][key] == value, f"{section}.{key}"


def test_a_config_that_cannot_be_read_is_a_factory_error_naming_it(tmp_path):
    folder = tmp_path / "config.toml"
    folder.mkdir()  # IsADirectoryError is no FactoryError: the CLI and the review app would show a traceback
    with pytest.raises(FactoryError, match=r"config\.toml: is a folder"):
        load_config(folder)
