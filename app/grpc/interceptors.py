"""Server interceptors: token authentication and the error mapping.

* :class:`AuthInterceptor` reads ``authorization: Bearer <token>`` or
  ``x-api-token: <token>`` metadata and compares it with ``HARD_TOKEN`` in
  constant time (:func:`app.tokens.tokens_match`); a missing or wrong token ends
  the call with ``UNAUTHENTICATED``. The health service is exempt (probes
  carry no secrets), and so is the legacy ``model.ModelService`` when
  ``GRPC_LEGACY_AUTH=false`` (its known ERP clients send no metadata).
* :class:`ErrorInterceptor` turns what a servicer raises into a gRPC status
  from the one table in :mod:`app.errors` (``ServiceError.grpc_status``):
  bad input ``INVALID_ARGUMENT``, too large ``RESOURCE_EXHAUSTED``, LLM
  unavailable ``UNAVAILABLE``, timeout ``DEADLINE_EXCEEDED``, anything
  unexpected ``INTERNAL`` with the trace id (never ``UNKNOWN``, which is what
  grpc answers for an exception left unhandled). The status carries
  ``google.rpc.Status`` details (``grpcio-status``, the gRPC richer error
  model, https://grpc.io/docs/guides/error/): an ``ErrorInfo`` whose
  ``reason`` is the HTTP API's ``error_code``, a ``RequestInfo`` with the
  trace id, and a ``RetryInfo`` where HTTP would send ``Retry-After``.
  Every answer carries the trace id in trailing metadata ``x-trace-id``; a
  caller may choose it with ``x-request-id`` metadata.

* :class:`MetricsInterceptor` counts every unary call by method and status
  code and times it (:func:`app.observability.metrics.observe_grpc_call`).

Interceptor pattern after grpc/grpc ``examples/python/auth`` and
``examples/python/interceptors``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from typing import Callable

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from app.errors import ServiceError, SystemFailure, Unauthorized
from app.tokens import tokens_match

log = logging.getLogger(__name__)

HEALTH_PREFIX = "/grpc.health.v1.Health/"
LEGACY_PREFIX = "/model.ModelService/"
ERROR_DOMAIN = "docextract"
TRACE_HEADER = "x-trace-id"

_TRACE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_current_trace = contextvars.ContextVar("grpc_trace_id", default="")


def current_trace_id() -> str:
    """The trace id of the call this thread is serving ("" outside a call)."""
    return _current_trace.get()


def _metadata(handler_call_details_or_context) -> dict[str, str]:
    """Invocation metadata as ``{lower-case key: first value}`` (text values only)."""
    source = handler_call_details_or_context
    items = source.invocation_metadata if hasattr(source, "method") else source.invocation_metadata()
    out: dict[str, str] = {}
    for key, value in items or ():
        if isinstance(value, str):
            out.setdefault(key.lower(), value)
    return out


def _token(metadata: dict[str, str]) -> str | None:
    auth = metadata.get("authorization")
    if auth is not None:
        scheme, _, credentials = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return metadata.get("x-api-token")


def _rejecting_handler(handler: grpc.RpcMethodHandler, status: grpc.Status) -> grpc.RpcMethodHandler:
    """A handler of the same streaming kind as ``handler`` that ends every call with ``status``."""

    def reject(request_or_iterator, context):
        context.abort_with_status(status)

    def reject_stream(request_or_iterator, context):
        context.abort_with_status(status)
        yield  # pragma: no cover - abort raises

    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(reject_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(reject, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(reject_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(reject, **kwargs)


def error_status(error: ServiceError, trace_id: str) -> grpc.Status:
    """The gRPC status of ``error``: code from ``error.grpc_status``, message,
    and ``google.rpc`` details (``ErrorInfo`` + ``RequestInfo``, and
    ``RetryInfo`` when the error says when to retry), plus trailing metadata
    ``x-trace-id``.

    Args:
        error: the service error.
        trace_id: id of the call in the log.

    Returns:
        A ``grpc.Status`` for ``context.abort_with_status``.
    """
    code = grpc.StatusCode[error.grpc_status]
    metadata = {"trace_id": trace_id, "http_status": str(error.http_status)}
    for key, value in error.details.items():
        if isinstance(value, (str, int, float, bool)):
            metadata[str(key)] = str(value)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN, metadata=metadata))
    request = any_pb2.Any()
    request.Pack(error_details_pb2.RequestInfo(request_id=trace_id))
    details = [info, request]
    if error.retry_after:  # the HTTP door's Retry-After (overload, open LLM circuit)
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(error.retry_after))))
        details.append(retry)
    message = error.message if code != grpc.StatusCode.INTERNAL else f"{error.message} (trace id {trace_id})"
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    base = rpc_status.to_status(status)
    return _Status(base.code, base.details, (*base.trailing_metadata, (TRACE_HEADER, trace_id)))


class _Status(grpc.Status):
    def __init__(self, code, details, trailing_metadata):
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


class AuthInterceptor(grpc.ServerInterceptor):
    """Require ``HARD_TOKEN`` on every method except health (and, optionally, the legacy service).

    Args:
        token: the expected token; empty disables the check (the server logs a warning).
        legacy_auth: require the token on ``model.ModelService`` too.
    """

    def __init__(self, token: str, legacy_auth: bool = True):
        self._expected = token
        self._legacy_auth = legacy_auth

    def exempt(self, method: str) -> bool:
        """True for methods that need no token."""
        if not self._expected or method.startswith(HEALTH_PREFIX):
            return True
        return method.startswith(LEGACY_PREFIX) and not self._legacy_auth

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or self.exempt(handler_call_details.method):
            return handler
        metadata = _metadata(handler_call_details)
        given = _token(metadata)
        if given is None:
            error = Unauthorized("Missing API token: send metadata 'authorization: Bearer <token>' or 'x-api-token'")
        elif not tokens_match(given, self._expected):
            error = Unauthorized("Invalid API token")
        else:
            return handler
        trace_id = _trace_id(metadata)
        log.info("%s UNAUTHENTICATED: %s (trace_id=%s)", handler_call_details.method, error.message, trace_id)
        return _rejecting_handler(handler, error_status(error, trace_id))


def _trace_id(metadata: dict[str, str]) -> str:
    incoming = metadata.get("x-request-id", "")
    return incoming if _TRACE_ID.match(incoming) else uuid.uuid4().hex


class ErrorInterceptor(grpc.ServerInterceptor):
    """Map exceptions of the unary methods (response-streaming included) under ``prefixes`` to gRPC statuses.

    The call's trace id is available to the servicer as :func:`current_trace_id`.

    Args:
        prefixes: method path prefixes to wrap (``/package.Service/``).
    """

    def __init__(self, prefixes: tuple[str, ...]):
        self._prefixes = prefixes

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.request_streaming or not method.startswith(self._prefixes):
            return handler
        trace_id = _trace_id(_metadata(handler_call_details))
        kwargs = {"request_deserializer": handler.request_deserializer,
                  "response_serializer": handler.response_serializer}
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(_mapped_stream(handler.unary_stream, method, trace_id),
                                                        **kwargs)
        return grpc.unary_unary_rpc_method_handler(_mapped(handler.unary_unary, method, trace_id), **kwargs)


def _abort(context: grpc.ServicerContext, error: Exception, method: str, trace_id: str) -> None:
    """End the call with the status of ``error`` (raises, as ``context.abort`` does)."""
    if isinstance(error, ServiceError):
        level = logging.WARNING if error.grpc_status == "INTERNAL" else logging.INFO
        log.log(level, "%s %s %s: %s (trace_id=%s)", method, error.grpc_status, error.code, error.message, trace_id)
        context.abort_with_status(error_status(error, trace_id))
    if context.code() is not None:  # the servicer or grpc already ended the call (context.abort)
        raise error
    log.error("%s unhandled error (trace_id=%s)", method, trace_id, exc_info=error)
    context.abort_with_status(error_status(SystemFailure(), trace_id))


def _mapped(behaviour: Callable, method: str, trace_id: str) -> Callable:
    def call(request, context: grpc.ServicerContext):
        context.set_trailing_metadata(((TRACE_HEADER, trace_id),))
        token = _current_trace.set(trace_id)
        try:
            return behaviour(request, context)
        except Exception as e:
            _abort(context, e, method, trace_id)
        finally:
            _current_trace.reset(token)

    return call


def _mapped_stream(behaviour: Callable, method: str, trace_id: str) -> Callable:
    def call(request, context: grpc.ServicerContext):
        context.set_trailing_metadata(((TRACE_HEADER, trace_id),))
        _current_trace.set(trace_id)  # this handler thread serves this call only
        try:
            yield from behaviour(request, context)
        except Exception as e:
            _abort(context, e, method, trace_id)

    return call


class MetricsInterceptor(grpc.ServerInterceptor):
    """Count and time the unary-unary calls of ``methods`` (first in the chain, so refused calls count too).

    Args:
        methods: full method names to label by (others are labelled ``unknown``).
    """

    def __init__(self, methods: frozenset[str]):
        self._methods = methods

    def intercept_service(self, continuation, handler_call_details):
        from app.observability import metrics

        handler = continuation(handler_call_details)
        if handler is None or handler.request_streaming or handler.response_streaming:
            return handler
        method = handler_call_details.method if handler_call_details.method in self._methods else "unknown"
        behaviour = handler.unary_unary

        def call(request, context):
            start, code = time.perf_counter(), "OK"
            try:
                return behaviour(request, context)
            except Exception:
                code = context.code().name if context.code() is not None else "UNKNOWN"
                raise
            finally:
                metrics.observe_grpc_call(method, code, time.perf_counter() - start)

        return grpc.unary_unary_rpc_method_handler(call, request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)
