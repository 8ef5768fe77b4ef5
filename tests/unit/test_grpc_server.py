"""The gRPC server with fakes injected: v1 API, legacy method, auth, health,
reflection, limits, deadlines, error mapping and graceful shutdown.

Servers bind 127.0.0.1 port 0; clients use the committed generated stubs.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from app import build_services
from app.config import Settings
from app.grpc.generated import model_pb2, model_pb2_grpc
from app.grpc.generated.docextract.v1 import extraction_service_pb2 as v1
from app.grpc.generated.docextract.v1 import extraction_service_pb2_grpc as v1_grpc
from app.grpc.server import create_server, drain, serve
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, line, png_bytes

ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}
# A receipt the classifier recognises (title, cash/change, thanks) without a document_type.
TITLED_RECEIPT = (line("MINI MART ABC", 10, 10), line("OFFICIAL RECEIPT", 10, 40), line("Date: 03/02/2020", 10, 70),
                  line("TOTAL", 10, 100, w=50), line("3.00", 200, 102, w=40), line("CASH", 10, 130, w=50),
                  line("5.00", 200, 132, w=40), line("CHANGE", 10, 160, w=60), line("2.00", 200, 162, w=40),
                  line("THANK YOU", 10, 190))
TOKEN = "s3cret-token"


class SlowOcrEngine(FakeOcrEngine):
    """FakeOcrEngine that takes ``delay`` seconds per page."""

    def __init__(self, delay: float, **kw):
        super().__init__(**kw)
        self.delay = delay
        self.started = threading.Event()

    def recognize(self, image):
        self.started.set()
        time.sleep(self.delay)
        return super().recognize(image)


LLM_DOWN = "down"


def _services(settings, engine=None, responder=None):
    if responder == LLM_DOWN:  # a real client, nothing listening: connection refused
        llm = LLMClient(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0, timeout=2.0)
    else:
        llm = LLMClient(base_url="http://fake/v1", model="m", max_retries=0,
                        client=FakeOpenAI(responder or answer_by_field(ANSWERS)))
    return build_services(settings, ocr_engine=engine or FakeOcrEngine(), llm_client=llm)


def _pipeline(settings, engine=None, responder=None):
    return _services(settings, engine, responder).pipeline


class Server:
    """A started server on a free port, its channel and stubs."""

    def __init__(self, engine=None, responder=None, jobs_dir=None, **overrides):
        overrides.setdefault("grpc_drain_delay", 0.0)
        if jobs_dir is not None:
            overrides.update(storage_dir=jobs_dir, job_workers=2, job_retry_backoff=0.05, job_retry_backoff_max=0.1,
                             job_watchdog_interval=0.2)
        self.settings = Settings(llm_api_url="http://fake/v1", **overrides)
        self.health = health.HealthServicer()
        services = _services(self.settings, engine, responder)
        self.jobs = None
        if jobs_dir is not None:
            from app.jobs.service import build_jobs

            self.jobs = build_jobs(self.settings, lambda: services.ocr_engine, lambda: services.extractor)
        self.server, self.port = create_server("127.0.0.1:0", self.settings, services.pipeline,
                                               health_servicer=self.health, jobs=self.jobs)
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}",
                                             options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
        self.v1 = v1_grpc.ExtractionServiceStub(self.channel)
        self.legacy = model_pb2_grpc.ModelServiceStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    def close(self):
        self.channel.close()
        self.server.stop(0).wait()
        if self.jobs is not None:
            self.jobs.stop()


@pytest.fixture
def make_server():
    servers = []

    def make(**kw) -> Server:
        servers.append(Server(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status details"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo in the status details")


def _trailing(error_or_call) -> dict:
    return {k: v for k, v in (error_or_call.trailing_metadata() or ())}


# ----------------------------------------------------------------------------- v1
def test_v1_extract_typed_fields(make_server):
    s = make_server()
    response, call = s.v1.Extract.with_call(v1.ExtractRequest(
        content=png_bytes(), filename="r.png", document_type="receipt",
        info={"shop": "name of the shop"}, include_ocr_lines=True))
    fields = {f.key: f for f in response.fields}
    assert response.filename == "r.png" and response.document_type == "receipt"
    assert list(fields)[:4] == ["seller", "address", "date", "total"]  # the type's order, then info
    total = fields["total"]
    assert total.value == "3.00" and total.source == "rule" and total.grounded
    assert total.normalized.struct_value.fields["amount"].string_value == "3.00"
    assert len(total.box.points) == 4 and 0 < total.confidence <= 1
    assert fields["date"].normalized.string_value == "2020-02-03"
    assert fields["shop"].value == "MINI MART ABC" and fields["shop"].source == "llm"
    assert [line.text for line in response.ocr_lines][0] == "MINI MART ABC"
    assert response.timings.ocr_ms > 0 and "rules" in response.timings.stages_ms
    assert response.trace_id and _trailing(call)["x-trace-id"] == response.trace_id


def test_v1_detects_the_type_and_maps_info(make_server):
    s = make_server(engine=FakeOcrEngine(lines=TITLED_RECEIPT), responder=lambda kind, kw: "NONE")
    response = s.v1.Extract(v1.ExtractRequest(content=png_bytes(), info={"amount": "total amount paid"}))
    assert response.document_type == "receipt" and response.classification.type == "receipt"
    assert response.classification.source and 0 < response.classification.confidence <= 1
    (field,) = response.fields
    assert (field.key, field.matched_field, field.value) == ("amount", "total", "3.00")
    # No info and no type: the detected type's fields.
    response = s.v1.Extract(v1.ExtractRequest(content=png_bytes()))
    assert response.document_type == "receipt"
    assert [f.key for f in response.fields] == ["seller", "address", "date", "total"]


def test_v1_nothing_detected(make_server):
    s = make_server(responder=lambda kind, kw: "NONE")  # five untitled lines: no type of ours
    response = s.v1.Extract(v1.ExtractRequest(content=png_bytes()))
    assert response.document_type == "" and response.classification.type == "other" and not response.fields


def test_legacy_extract_ocr(make_server):
    s = make_server(engine=FakeOcrEngine(lines=TITLED_RECEIPT), responder=lambda kind, kw: "NONE")
    ask = s.legacy.ExtractOCR(model_pb2.UserRequest(image=png_bytes(), prompt="Extract total and date")).output
    assert json.loads(ask) == {"total": "3.00", "date": "03/02/2020", "document_type": "receipt"}
    every = json.loads(s.legacy.ExtractOCR(model_pb2.UserRequest(
        image=png_bytes(), prompt="Extract all fields into a structured JSON.")).output)
    assert set(every) == {"seller", "address", "date", "total", "document_type"} and every["total"] == "3.00"
    vi = json.loads(s.legacy.ExtractOCR(model_pb2.UserRequest(image=png_bytes(), prompt="Lấy tổng tiền")).output)
    assert vi == {"total": "3.00", "document_type": "receipt"}


def test_legacy_errors_are_mapped(make_server):
    s = make_server()
    for image, reason in ((b"", "MISSING_FILE"), (b"garbage", "INVALID_IMAGE")):
        with pytest.raises(grpc.RpcError) as err:
            s.legacy.ExtractOCR(model_pb2.UserRequest(image=image, prompt="total"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _error_info(err.value).reason == reason


def test_v1_field_without_value_is_absent(make_server):
    s = make_server(responder=lambda kind, kw: "NONE")
    response = s.v1.Extract(v1.ExtractRequest(content=png_bytes(), info={"iban": "bank account number"}))
    (field,) = [f for f in response.fields if f.key == "iban"]
    assert not field.HasField("value") and field.normalized.WhichOneof("kind") == "null_value"


def test_v1_extract_multi_page_pdf(make_server):
    """A born-digital two-page invoice: pages from the text layer, fields with their page, line items, checks."""
    pytest.importorskip("reportlab", reason="reportlab renders the synthetic PDF (requirements-dev.txt)")
    from tests.synthetic.invoices import make_document, render_pdf

    doc = make_document(7, "en")
    engine = FakeOcrEngine()
    s = make_server(engine=engine, responder=lambda kind, kw: "NONE")
    response = s.v1.Extract(v1.ExtractRequest(content=render_pdf(doc), filename="inv.pdf", document_type="invoice"))
    assert response.page_count == 2 and [p.page for p in response.pages] == [1, 2]
    assert {p.source for p in response.pages} == {"pdf_text"} and engine.calls == 0  # no OCR needed
    fields = {f.key: f for f in response.fields}
    assert fields["invoice_number"].value == doc.number and fields["invoice_number"].page == 1
    assert Decimal(fields["total"].normalized.struct_value.fields["amount"].string_value) == doc.total
    assert len(response.line_items) == len(doc.items)
    first = response.line_items[0]
    assert first.description == doc.items[0].description and Decimal(first.amount) == doc.items[0].amount
    assert {item.page for item in response.line_items} == {1, 2}
    assert response.checks.fields["ok"].bool_value is True


def test_v1_ocr(make_server):
    s = make_server()
    response = s.v1.Ocr(v1.OcrRequest(content=png_bytes(), filename="a.png"))
    assert [line.text for line in response.lines][:2] == ["MINI MART ABC", "12 Main Street"]
    assert len(response.lines[0].box.points) == 4
    assert response.timings.detection_ms == 1.0 and response.timings.recognition_ms == 2.0


@pytest.mark.parametrize("request_kwargs, code, reason", [
    ({}, grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FILE"),
    ({"content": b"not an image", "document_type": "receipt"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_IMAGE"),
    ({"content": png_bytes(), "document_type": "passport"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CONFIG"),
    ({"content": png_bytes(), "info": {"x": " "}}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CONFIG"),
    ({"content": png_bytes(), "info": {"a": "b"}, "batch_size": 99}, grpc.StatusCode.INVALID_ARGUMENT,
     "INVALID_CONFIG"),
])
def test_v1_bad_input_is_invalid_argument(make_server, request_kwargs, code, reason):
    s = make_server()
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Extract(v1.ExtractRequest(**request_kwargs))
    assert err.value.code() == code
    info = _error_info(err.value)
    assert info.reason == reason and info.domain == "docextract"
    assert info.metadata["trace_id"] == _trailing(err.value)["x-trace-id"]
    assert info.metadata["http_status"] == "400"


def test_v1_llm_down_is_unavailable(make_server):
    s = make_server(responder=LLM_DOWN)
    with pytest.raises(grpc.RpcError) as err:
        # A free-text field only the LLM can answer, and nothing listening at the LLM's URL.
        s.v1.Extract(v1.ExtractRequest(content=png_bytes(), info={"iban": "bank account number"}))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _error_info(err.value).reason == "LLM_UNAVAILABLE"


def test_work_runs_with_the_calls_trace_id(make_server):
    from app.grpc.interceptors import current_trace_id

    seen = []

    class TraceEngine(FakeOcrEngine):
        def recognize(self, image):
            seen.append(current_trace_id())
            return super().recognize(image)

    s = make_server(engine=TraceEngine())
    s.v1.Ocr(v1.OcrRequest(content=png_bytes()), metadata=(("x-request-id", "trace-xyz"),))
    assert seen == ["trace-xyz"]


def test_unexpected_error_is_internal_with_trace_id(make_server):
    s = make_server(engine=FakeOcrEngine(error=ZeroDivisionError("boom")))
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()), metadata=(("x-request-id", "trace-abc"),))
    assert err.value.code() == grpc.StatusCode.INTERNAL  # never UNKNOWN
    assert "trace-abc" in err.value.details() and "boom" not in err.value.details()
    assert _error_info(err.value).reason == "SYSTEM_ERROR"


# ----------------------------------------------------------------------------- limits
def test_message_over_the_limit_is_resource_exhausted(make_server):
    s = make_server(grpc_max_message_bytes=1024 * 1024)
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=b"\0" * (2 * 1024 * 1024)))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_default_limit_takes_more_than_grpcs_4_mb(make_server):
    s = make_server()
    assert s.settings.grpc_max_message_bytes == 32 * 1024 * 1024
    with pytest.raises(grpc.RpcError) as err:  # 6 MB reaches the pipeline, which refuses the bytes
        s.v1.Ocr(v1.OcrRequest(content=b"\0" * (6 * 1024 * 1024)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _error_info(err.value).reason == "INVALID_IMAGE"


def test_file_over_max_file_mb_is_resource_exhausted(make_server):
    s = make_server(max_file_bytes=1000)
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes(400, 400, (10, 200, 30)) + b"\0" * 2000))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _error_info(err.value).reason == "PAYLOAD_TOO_LARGE"


def test_calls_beyond_max_concurrent_rpcs_are_resource_exhausted(make_server):
    engine = SlowOcrEngine(1.0)
    s = make_server(engine=engine, grpc_max_concurrent_rpcs=1)
    first = s.v1.Ocr.future(v1.OcrRequest(content=png_bytes()))
    assert engine.started.wait(10)
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert first.result(timeout=10).lines


def test_health_answers_while_every_worker_is_busy(make_server):
    engine = SlowOcrEngine(3.0)
    s = make_server(engine=engine, grpc_max_workers=1, grpc_max_concurrent_rpcs=4)
    busy = [s.v1.Ocr.future(v1.OcrRequest(content=png_bytes())) for _ in range(2)]  # one runs, one queues
    assert engine.started.wait(10)
    start = time.monotonic()
    status = s.health_stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING and time.monotonic() - start < 1.5
    assert all(f.result(timeout=10).lines for f in busy)


def test_server_side_deadline(make_server):
    s = make_server(engine=SlowOcrEngine(5.0), grpc_call_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert _error_info(err.value).reason == "DEADLINE_EXCEEDED"
    assert time.monotonic() - start < 3.0  # answered at the deadline, not when the page is done


def test_client_deadline_is_honoured(make_server):
    s = make_server(engine=SlowOcrEngine(2.0))
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()), timeout=0.3)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


# ----------------------------------------------------------------------------- auth
def test_auth_required_when_token_set(make_server):
    s = make_server(hard_token=TOKEN)
    request = v1.OcrRequest(content=png_bytes())
    for metadata in ((), (("authorization", "Bearer wrong"),), (("x-api-token", "wrong"),),
                     (("authorization", f"Basic {TOKEN}"),)):
        with pytest.raises(grpc.RpcError) as err:
            s.v1.Ocr(request, metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        assert _error_info(err.value).reason == "UNAUTHORIZED"
    assert s.v1.Ocr(request, metadata=(("authorization", f"Bearer {TOKEN}"),)).lines
    assert s.v1.Ocr(request, metadata=(("x-api-token", TOKEN),)).lines


def test_health_needs_no_token(make_server):
    s = make_server(hard_token=TOKEN)
    for service in ("", "model.ModelService", "docextract.v1.ExtractionService"):
        response = s.health_stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING, service


def test_legacy_auth_on_by_default(make_server):
    s = make_server(hard_token=TOKEN)
    request = model_pb2.UserRequest(image=png_bytes(), prompt="Extract total and date")
    with pytest.raises(grpc.RpcError) as err:
        s.legacy.ExtractOCR(request)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert json.loads(s.legacy.ExtractOCR(request, metadata=(("x-api-token", TOKEN),)).output)


def test_legacy_auth_off_leaves_v1_protected(make_server):
    s = make_server(hard_token=TOKEN, grpc_legacy_auth=False)
    output = json.loads(s.legacy.ExtractOCR(model_pb2.UserRequest(image=png_bytes(), prompt="total")).output)
    assert output["total"] == "3.00"
    with pytest.raises(grpc.RpcError) as err:
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_no_token_configured_means_no_auth(make_server):
    s = make_server(hard_token="")
    assert s.v1.Ocr(v1.OcrRequest(content=png_bytes())).lines


# ----------------------------------------------------------------------------- reflection
def _reflected_services(channel, metadata=()):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                          metadata=metadata)
    return {s.name for r in responses for s in r.list_services_response.service}


def test_reflection_lists_the_services(make_server):
    names = _reflected_services(make_server().channel)
    assert {"model.ModelService", "docextract.v1.ExtractionService", "grpc.health.v1.Health"} <= names


def test_reflection_needs_the_token(make_server):
    s = make_server(hard_token=TOKEN)
    with pytest.raises(grpc.RpcError) as err:
        _reflected_services(s.channel)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "docextract.v1.ExtractionService" in _reflected_services(s.channel, (("x-api-token", TOKEN),))


def test_reflection_can_be_switched_off(make_server):
    with pytest.raises(grpc.RpcError) as err:
        _reflected_services(make_server(grpc_reflection=False).channel)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


# ----------------------------------------------------------------------------- shutdown
def test_graceful_shutdown_drains_in_flight_calls(make_server):
    engine = SlowOcrEngine(3.5)  # still running when stop(grace) begins, 1.5 s into the drain
    s = make_server(engine=engine)
    in_flight = s.v1.Ocr.future(v1.OcrRequest(content=png_bytes()))
    assert engine.started.wait(10)
    done = threading.Thread(target=drain, args=(s.server, s.health, 1.5, 20.0))
    done.start()
    time.sleep(0.1)
    # During the drain delay the server still answers, and says it is going away.
    status = s.health_stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert in_flight.result(timeout=20).lines  # the in-flight call finished normally within the grace
    done.join(timeout=25)
    assert not done.is_alive()
    with pytest.raises(grpc.RpcError) as err:  # stopped: no new calls
        s.v1.Ocr(v1.OcrRequest(content=png_bytes()), timeout=2)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_serve_runs_until_stopped():
    from tests.conftest import free_port

    metrics_port = free_port()
    settings = Settings(llm_api_url="http://fake/v1", grpc_host="127.0.0.1", grpc_port=0, grpc_drain_delay=0.0,
                        grpc_shutdown_grace=5.0, grpc_metrics_port=metrics_port)
    stop_event, ports = threading.Event(), []
    thread = threading.Thread(target=serve, kwargs={"settings": settings, "pipeline": _pipeline(settings),
                                                    "stop_event": stop_event, "on_started": ports.append})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not ports and time.monotonic() < deadline:
            time.sleep(0.05)
        with grpc.insecure_channel(f"127.0.0.1:{ports[0]}") as channel:
            response = v1_grpc.ExtractionServiceStub(channel).Ocr(v1.OcrRequest(content=png_bytes()), timeout=5)
            assert response.lines
        import urllib.request

        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        assert 'docextract_grpc_calls_total{code="OK",method="/docextract.v1.ExtractionService/Ocr"}' in body
    finally:
        stop_event.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_health_probe_exit_status(make_server, capsys):
    from app.grpc.health_probe import main as probe
    from tests.conftest import free_port

    s = make_server()
    assert probe([f"127.0.0.1:{s.port}"]) == 0 and "SERVING" in capsys.readouterr().out
    assert probe([f"127.0.0.1:{s.port}", "docextract.v1.ExtractionService"]) == 0
    s.health.enter_graceful_shutdown()
    assert probe([f"127.0.0.1:{s.port}"]) == 1 and "NOT_SERVING" in capsys.readouterr().out
    assert probe([f"127.0.0.1:{free_port()}"]) == 1  # nothing listening


def test_calls_are_counted(make_server):
    from app.observability import metrics

    def count(method, code):
        return metrics.REGISTRY.get_sample_value("docextract_grpc_calls_total", {"method": method, "code": code}) or 0

    ocr, unauth = "/docextract.v1.ExtractionService/Ocr", "/model.ModelService/ExtractOCR"
    before = count(ocr, "OK"), count(ocr, "INVALID_ARGUMENT"), count(unauth, "UNAUTHENTICATED")
    s = make_server(hard_token=TOKEN)
    s.v1.Ocr(v1.OcrRequest(content=png_bytes()), metadata=(("x-api-token", TOKEN),))
    with pytest.raises(grpc.RpcError):
        s.v1.Ocr(v1.OcrRequest(), metadata=(("x-api-token", TOKEN),))
    with pytest.raises(grpc.RpcError):
        s.legacy.ExtractOCR(model_pb2.UserRequest(image=png_bytes()))
    after = count(ocr, "OK"), count(ocr, "INVALID_ARGUMENT"), count(unauth, "UNAUTHENTICATED")
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1]
    assert metrics.REGISTRY.get_sample_value("docextract_documents_total",
                                             {"operation": "ocr", "document_type": "ocr", "outcome": "ok"}) >= 1


# ----------------------------------------------------------------------------- jobs
def test_jobs_submit_watch_get(make_server, tmp_path):
    s = make_server(jobs_dir=tmp_path / "storage")
    request = v1.SubmitJobRequest(files=[v1.JobFile(content=png_bytes(), filename=f"p{i}.png") for i in range(2)],
                                  info={"shop": "name of the shop", "total": "total amount"}, idempotency_key="k-1")
    submitted = s.v1.SubmitJob(request)
    assert submitted.created and submitted.job.status == v1.JOB_STATUS_QUEUED
    job_id = submitted.job.job_id
    assert submitted.job.status_url == f"/jobs/{job_id}"
    again = s.v1.SubmitJob(request)  # same Idempotency-Key: the same job
    assert not again.created and again.job.job_id == job_id

    updates = [u.job for u in s.v1.WatchJob(v1.WatchJobRequest(job_id=job_id), timeout=30)]
    assert updates[-1].status == v1.JOB_STATUS_SUCCEEDED
    assert len({(u.status, u.stage, u.progress.done) for u in updates}) == len(updates)  # only changes are sent
    final = s.v1.GetJob(v1.GetJobRequest(job_id=job_id, wait_seconds=5)).job
    assert final.status == v1.JOB_STATUS_SUCCEEDED and final.processed_count == 2 and not final.file_errors
    assert [r.filename for r in final.results] == ["p0.png", "p1.png"]
    fields = {f.key: f.value for f in final.results[0].fields}
    assert fields == {"shop": "MINI MART ABC", "total": "3.00"}
    assert final.progress.done == 2 and final.finished_at and final.timings_ms["ocr_ms"] >= 0


def test_jobs_errors(make_server, tmp_path):
    s = make_server(jobs_dir=tmp_path / "storage")
    with pytest.raises(grpc.RpcError) as err:
        s.v1.GetJob(v1.GetJobRequest(job_id="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and _error_info(err.value).reason == "JOB_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as err:  # a streaming method's error is mapped too
        list(s.v1.WatchJob(v1.WatchJobRequest(job_id="nope"), timeout=10))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and _error_info(err.value).reason == "JOB_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as err:
        s.v1.SubmitJob(v1.SubmitJobRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _error_info(err.value).reason == "MISSING_FILE"
    with pytest.raises(grpc.RpcError) as err:
        s.v1.GetJob(v1.GetJobRequest(job_id="x", wait_seconds=10_000))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_jobs_not_enabled_is_unavailable(make_server):
    with pytest.raises(grpc.RpcError) as err:
        make_server().v1.GetJob(v1.GetJobRequest(job_id="x"))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE and _error_info(err.value).reason == "NOT_READY"
