"""GRPC_* settings: defaults, parsing, and failures that name the variable."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.grpc_address == "[::]:50051"
    assert s.grpc_max_message_bytes == 32 * 1024 * 1024
    assert s.grpc_reflection is True and s.grpc_legacy_auth is True
    assert s.grpc_max_concurrent_rpcs >= s.grpc_max_workers


def test_values():
    s = Settings.from_env({"GRPC_HOST": "127.0.0.1", "GRPC_PORT": "50052", "GRPC_MAX_MESSAGE_MB": "64",
                           "GRPC_REFLECTION": "false", "GRPC_LEGACY_AUTH": "false", "GRPC_CALL_TIMEOUT": "12.5",
                           "GRPC_MAX_WORKERS": "2", "GRPC_MAX_CONCURRENT_RPCS": "3"})
    assert s.grpc_address == "127.0.0.1:50052" and s.grpc_max_message_bytes == 64 * 1024 * 1024
    assert (s.grpc_reflection, s.grpc_legacy_auth, s.grpc_call_timeout) == (False, False, 12.5)
    assert (s.grpc_max_workers, s.grpc_max_concurrent_rpcs) == (2, 3)


def test_legacy_auth_stays_on_unless_false():
    assert Settings.from_env({"GRPC_LEGACY_AUTH": ""}).grpc_legacy_auth is True


@pytest.mark.parametrize("name, value", [("GRPC_PORT", "70000"), ("GRPC_MAX_MESSAGE_MB", "lots"),
                                         ("GRPC_LEGACY_AUTH", "maybe"), ("GRPC_MAX_WORKERS", "0"),
                                         ("GRPC_CALL_TIMEOUT", "0")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
