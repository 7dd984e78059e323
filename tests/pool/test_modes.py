"""greenpool.pool.modes: naming a mode; a bad one is a ConfigurationError."""

from __future__ import annotations

from typing import Any

import pytest

from greenpool import ConfigurationError
from greenpool.pool.modes import Mode, parse_mode


@pytest.mark.parametrize(("given", "mode"), [
    (Mode.RO, Mode.RO), ("rw", Mode.RW), (" prefer_ro ", Mode.PREFER_RO), ("ANY", Mode.ANY),
])
def test_a_mode_or_its_name(given: Any, mode: Mode) -> None:
    assert parse_mode(given) is mode


@pytest.mark.parametrize("given", ["sideways", "", None, 1, Mode])
def test_anything_else_is_a_configuration_error_naming_the_argument(given: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_mode(given, argument="default_mode")
    assert info.value.argument == "default_mode"
    assert str(info.value).startswith(f"default_mode={given!r}: must be a Mode")
    assert isinstance(info.value, ValueError)  # what it raised before, still caught
