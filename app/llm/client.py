"""Client for any OpenAI-compatible LLM server (llama.cpp server, vLLM, ...).

Wraps ``openai.OpenAI`` with an explicit base URL, timeout and retry count,
and translates the openai error tree into this service's errors:

=============================================  ===================
openai error                                   service error
=============================================  ===================
``APITimeoutError``                            :class:`LLMTimeout`
``APIConnectionError``, ``RateLimitError``,
5xx ``APIStatusError``                         :class:`LLMUnavailable`
other 4xx ``APIStatusError``                   :class:`LLMRejected`
=============================================  ===================

Structured output: each server takes a JSON schema in its own request form.
vLLM (>= 0.12, OpenAI-style) takes
``response_format={"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``;
llama-cpp-python's server (0.3.x) rejects ``json_schema`` and takes
``response_format={"type": "json_object", "schema": {...}}``.
:meth:`LLMClient.response_format` picks the form by backend.

Faults (docs/reliability.md): every call may carry a ``deadline`` (a
``time.monotonic()`` instant, the request's ``REQUEST_TIMEOUT``): its timeout
is cut to the time left, and openai's retries are used only when they fit
before it. A :class:`app.llm.breaker.CircuitBreaker` counts consecutive
``LLMUnavailable`` failures (connection refused, 5xx, 429) and, once open,
fails calls at once with ``LLMUnavailable`` (and a ``retry_after``) until a
probe call gets through again. Timeouts are not counted: their length is the
caller's choice, and a caller's short ``llm_timeout`` must not open the circuit
for everyone.
"""

from __future__ import annotations

import logging
import math
import time
from operator import attrgetter
from typing import Any, Sequence

from app.config import Settings
from app.errors import LLMError, LLMRejected, LLMTimeout, LLMUnavailable
from app.llm.breaker import CircuitBreaker, CircuitOpen

log = logging.getLogger(__name__)


class LLMClient:
    """Text and chat completions against one OpenAI-compatible server.

    Args:
        base_url: server URL including ``/v1``.
        model: model name the server serves (``LLM_MODEL``).
        backend: ``llamacpp``, ``vllm`` or ``external``; selects the
            structured-output request form.
        api_key: bearer token (servers without auth accept any value).
        timeout: default per-request timeout in seconds.
        max_retries: retries on connection errors, 408/409/429 and 5xx
            (openai-python's policy, exponential backoff).
        client: an ``openai.OpenAI``-like object (tests inject a fake).
        breaker: circuit breaker shared by this client's calls; None for none.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        backend: str = "llamacpp",
        api_key: str = "not-needed",
        timeout: float = 60.0,
        max_retries: int = 1,
        client: Any = None,
        breaker: CircuitBreaker | None = None,
    ):
        self.base_url = base_url
        self.model = model
        self.backend = backend
        self.timeout = timeout
        self.max_retries = max_retries
        self.breaker = breaker
        if client is None:
            import openai

            client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                                   max_retries=max_retries)
        self._client = client
        # Readiness probes and calls close to their deadline: no retries, no backoff.
        self._probe_client = client.with_options(max_retries=0) if hasattr(client, "with_options") else client

    @classmethod
    def from_settings(cls, settings: Settings) -> "LLMClient":
        return cls(
            base_url=settings.llm_api_url,
            model=settings.llm_model,
            backend=settings.llm_backend,
            api_key=settings.llm_api_key,
            timeout=settings.llm_request_timeout,
            max_retries=settings.llm_max_retries,
            breaker=(CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_reset_timeout)
                     if settings.llm_breaker_failures > 0 else None),
        )

    # ------------------------------------------------------------------ requests
    def response_format(self, schema: dict, name: str = "fields") -> dict:
        """The ``response_format`` this backend accepts for a JSON schema.

        Args:
            schema: a JSON Schema object (draft 2020-12 subset).
            name: schema name (vLLM / OpenAI form only).
        """
        if self.backend == "llamacpp":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}

    def complete(self, prompt: str, *, max_tokens: int = 64, stop: Sequence[str] = ("\n",),
                 timeout: float | None = None, deadline: float | None = None) -> str:
        """Plain text completion (``/v1/completions``), for base models.

        Args:
            prompt: the whole prompt.
            max_tokens: generation limit in tokens.
            stop: stop sequences.
            timeout: seconds for this request; the client default when None.
            deadline: ``time.monotonic()`` instant the call must end by (the
                request's deadline); None for none.

        Returns:
            The generated text (may be empty).

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        response = self._call(
            "completions.create",
            timeout,
            deadline,
            model=self.model,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=0.0,
            stop=list(stop) or None,
        )
        return (response.choices[0].text or "") if response.choices else ""

    def chat(self, messages: list[dict], *, max_tokens: int = 256, json_schema: dict | None = None,
             timeout: float | None = None, deadline: float | None = None) -> str:
        """Chat completion (``/v1/chat/completions``), optionally schema-constrained.

        Args:
            messages: OpenAI chat messages.
            max_tokens: generation limit in tokens.
            json_schema: when given, output is constrained to this schema in the
                backend's request form (see :meth:`response_format`).
            timeout: seconds for this request; the client default when None.
            deadline: ``time.monotonic()`` instant the call must end by; None for none.

        Returns:
            The message content (a JSON string when ``json_schema`` is given).

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                                  "temperature": 0.0}
        if json_schema is not None:
            kwargs["response_format"] = self.response_format(json_schema)
        response = self._call("chat.completions.create", timeout, deadline, **kwargs)
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    def list_models(self, timeout: float = 3.0) -> list[str]:
        """IDs of the models the server serves (``GET /v1/models``).

        Not held back by an open circuit (``/ready`` must say what the server
        does now); its outcome is recorded like any call's, so a readiness
        probe that gets an answer closes the circuit.

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        page = self._guarded(self._probe_client.models.list, timeout, check_circuit=False)
        return [m.id for m in page.data]

    # ------------------------------------------------------------------ errors
    def _call(self, path: str, timeout: float | None, deadline: float | None, **kwargs):
        """Call ``path`` (e.g. ``"completions.create"``) on the openai client within ``deadline``."""
        timeout = self.timeout if timeout is None else timeout
        client = self._client
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0.05:
                raise LLMTimeout("The request's deadline (REQUEST_TIMEOUT) was reached before the LLM was asked")
            if left < timeout * (self.max_retries + 1) + self.max_retries:
                client = self._probe_client  # no time for retries and their backoff
            timeout = min(timeout, left)
        return self._guarded(attrgetter(path)(client), timeout, **kwargs)

    def _guarded(self, method, timeout: float, check_circuit: bool = True, **kwargs):
        """:meth:`_breaker_call`, counted in ``docextract_llm_calls_total`` by call and outcome."""
        from app.observability.metrics import observe_llm_call

        call = "chat" if "messages" in kwargs else "completion" if "prompt" in kwargs else "models"
        start, outcome = time.perf_counter(), "error"
        try:
            result = self._breaker_call(method, timeout, check_circuit, **kwargs)
            outcome = "ok"
            return result
        except LLMError as e:
            outcome = e.code.lower()
            raise
        finally:
            observe_llm_call(call, outcome, time.perf_counter() - start)

    def _breaker_call(self, method, timeout: float, check_circuit: bool = True, **kwargs):
        """Run ``method`` through the circuit breaker, recording its outcome."""
        breaker = self.breaker
        if breaker is not None and check_circuit:
            try:
                breaker.before_call()
            except CircuitOpen as e:
                raise LLMUnavailable(f"LLM server at {self.base_url} is failing ({e})",
                                     retry_after=math.ceil(e.retry_after)) from None
        try:
            result = self._translated(method, timeout, **kwargs)
        except LLMUnavailable as e:
            if breaker is not None:
                breaker.record_failure()
                if breaker.state == "open" and e.retry_after is None:
                    e.retry_after = math.ceil(breaker.reset_timeout)  # this failure opened it: say when to retry
            raise
        except LLMTimeout:
            if breaker is not None:
                breaker.record_neutral()
            raise
        except LLMRejected:  # the server answered: it is up
            if breaker is not None:
                breaker.record_success()
            raise
        if breaker is not None:
            breaker.record_success()
        return result

    def _translated(self, method, timeout: float, **kwargs):
        import openai

        kwargs["timeout"] = timeout
        try:
            return method(**kwargs)
        except openai.APITimeoutError as e:
            raise LLMTimeout(f"LLM server at {self.base_url} did not answer within {kwargs['timeout']:g} s") from e
        except openai.APIConnectionError as e:
            raise LLMUnavailable(f"Cannot reach the LLM server at {self.base_url}") from e
        except openai.RateLimitError as e:
            raise LLMUnavailable("LLM server is overloaded (429)") from e
        except openai.APIStatusError as e:
            if e.status_code >= 500:
                raise LLMUnavailable(f"LLM server error {e.status_code}") from e
            # Status only: a server's validation error may quote the request, i.e. the document's text.
            log.warning("LLM server rejected a request with status %s", e.status_code)
            # The server's own words go to the caller (in details), never to the log: they may quote the prompt.
            raise LLMRejected(f"LLM server rejected the request ({e.status_code})",
                              details={"llm_message": _short(e.message)}) from e


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
