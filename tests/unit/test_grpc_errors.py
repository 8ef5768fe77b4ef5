"""One error table for both doors: every ServiceError has a gRPC status next to
its HTTP status, consistent with it, and none maps to UNKNOWN."""

from __future__ import annotations

import inspect

import grpc
import pytest

from app import errors

CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.ServiceError)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_has_a_grpc_status(cls):
    code = grpc.StatusCode[cls.grpc_status]
    assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.OK)
    if 400 <= cls.http_status < 500:
        assert code != grpc.StatusCode.INTERNAL, "a client error must not look like a server fault"


@pytest.mark.parametrize("cls, expected", [
    (errors.InvalidImage, "INVALID_ARGUMENT"),
    (errors.InvalidConfig, "INVALID_ARGUMENT"),
    (errors.MissingFile, "INVALID_ARGUMENT"),
    (errors.PayloadTooLarge, "RESOURCE_EXHAUSTED"),
    (errors.LLMUnavailable, "UNAVAILABLE"),
    (errors.LLMTimeout, "DEADLINE_EXCEEDED"),
    (errors.DeadlineExceeded, "DEADLINE_EXCEEDED"),
    (errors.Unauthorized, "UNAUTHENTICATED"),
    (errors.OcrEngineError, "INTERNAL"),
    (errors.SystemFailure, "INTERNAL"),
])
def test_issue_table(cls, expected):
    assert cls.grpc_status == expected


def test_new_subclass_takes_the_status_of_its_http_status():
    class Conflict(errors.ServiceError):
        code, http_status = "CONFLICT_X", 409

    class Encrypted(errors.BadRequest):
        code = "ENCRYPTED_X"

    assert Conflict.grpc_status == "ABORTED" and Encrypted.grpc_status == "INVALID_ARGUMENT"


def test_status_details():
    from google.rpc import error_details_pb2, status_pb2

    from app.grpc.interceptors import error_status

    status = error_status(errors.Overloaded(), "t-1")
    assert status.code == grpc.StatusCode.UNAVAILABLE
    metadata = dict(status.trailing_metadata)
    assert metadata["x-trace-id"] == "t-1"
    details = status_pb2.Status.FromString(metadata["grpc-status-details-bin"]).details
    info, request, retry = (error_details_pb2.ErrorInfo(), error_details_pb2.RequestInfo(),
                            error_details_pb2.RetryInfo())
    assert details[0].Unpack(info) and details[1].Unpack(request) and details[2].Unpack(retry)
    assert (info.reason, info.domain, info.metadata["trace_id"], info.metadata["http_status"]) == (
        "OVERLOADED", "docextract", "t-1", "503")
    assert request.request_id == "t-1" and retry.retry_delay.seconds == 2
    internal = error_status(errors.SystemFailure(), "t-2")
    assert internal.code == grpc.StatusCode.INTERNAL and "t-2" in internal.details
