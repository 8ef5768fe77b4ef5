"""One place makes the extraction options of a request (ExtractConfig.options), for every door."""

from __future__ import annotations

import time

import pytest

from app.api.schemas import ExtractConfig, parse_extract_config
from app.config import Settings
from app.errors import InvalidConfig
from app.jobs.tasks import _options


def test_mode_falls_back_to_the_server_default_and_the_rest_is_the_callers():
    settings = Settings.from_env({"EXTRACT_DEFAULT_MODE": "schema"})
    config = parse_extract_config('{"document_type": "receipt", "parallel": false, "batch_size": 5, '
                                  '"llm_timeout": 12, "einvoice_xml": false}')
    got = config.options(settings)
    assert (got.mode, got.parallel, got.batch_size, got.llm_timeout, got.deadline, got.einvoice_xml) == \
        ("schema", False, 5, 12.0, None, False)
    assert parse_extract_config('{"document_type": "receipt", "mode": "per_field"}').options(settings).mode == \
        "per_field"


def test_llm_timeout_is_clipped_to_the_time_left_before_the_deadline():
    config = parse_extract_config('{"document_type": "receipt", "llm_timeout": 30}')
    deadline = time.monotonic() + 5
    got = config.options(Settings.from_env({}), deadline)
    assert got.deadline == deadline and 4 < got.llm_timeout <= 5
    late = config.options(Settings.from_env({}), time.monotonic() - 1)  # already past: the floor
    assert late.llm_timeout == pytest.approx(0.1)


def test_a_job_reads_back_the_config_its_door_stored():
    settings = Settings.from_env({"JOB_TIME_LIMIT": "100"})
    stored = parse_extract_config('{"info": {"total": "the total"}, "mode": "schema", "batch_size": 2}').model_dump()
    got = _options(stored, settings)
    assert (got.mode, got.batch_size) == ("schema", 2)
    assert 80 < got.deadline - time.monotonic() <= 90  # the soft time limit, 0.9 of JOB_TIME_LIMIT
    assert got.llm_timeout == 30.0


def test_a_stored_request_that_no_longer_validates_fails_with_a_code():
    with pytest.raises(InvalidConfig, match="batch_size"):
        _options({"document_type": "receipt", "batch_size": 99}, Settings.from_env({}))
    assert ExtractConfig.model_fields["batch_size"].default == 3
