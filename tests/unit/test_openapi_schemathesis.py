"""Property-based API test (schemathesis): requests generated from the served
``/openapi.json`` are sent over HTTP to the app on a loopback port (fake OCR
engine and LLM injected); no response may be a 5xx or break the description
(status code, content type, headers, body schema).

Bounded: ``MAX_EXAMPLES`` generated requests per operation (about 20 operations).
"""

from __future__ import annotations

import threading

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.api.openapi import build_spec  # noqa: E402
from app.config import Settings  # noqa: E402
from app.llm.client import LLMClient  # noqa: E402
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field  # noqa: E402

TOKEN = "fuzz-token"
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    s = Settings(hard_token=TOKEN, llm_api_url="http://fake/v1", max_file_bytes=256 * 1024,
                 max_request_bytes=1024 * 1024, rate_limit="100000/minute",
                 storage_dir=tmp_path_factory.mktemp("jobs"))  # POST /jobs stores its files here
    llm = LLMClient(base_url="http://fake/v1", model="m",
                    client=FakeOpenAI(answer_by_field({"total amount": "3.00"})))
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=llm)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["docextract_jobs"].stop()
    thread.join(timeout=10)


def _operations():
    schema = schemathesis.openapi.from_dict(build_spec())
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = _operations()


def test_served_description_is_the_one_tested(base_url):
    import requests

    assert requests.get(base_url + "/openapi.json", timeout=10).json() == build_spec()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_conforms_to_its_description(operation, base_url):
    """Every generated request gets a documented, non-5xx response whose body matches its schema.

    (schemathesis' own pytest plugin does not run under pytest 9, so the case
    strategy is driven by hypothesis directly.)

    All of schemathesis' checks run except ``positive_data_acceptance``: a
    schema-valid upload is any byte string, and the service rightly answers
    400 ``INVALID_IMAGE`` to bytes that are no image (and ``INVALID_CONFIG``
    to a string that is not the JSON the description asks for)."""

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(base_url=base_url, headers={"X-API-Token": TOKEN},
                               excluded_checks=[positive_data_acceptance])

    run()
