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
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

from app.config import Settings
from app.errors import LLMError, LLMRejected, LLMTimeout, LLMUnavailable

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
    ):
        self.base_url = base_url
        self.model = model
        self.backend = backend
        self.timeout = timeout
        self.max_retries = max_retries
        if client is None:
            import openai

            client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                                   max_retries=max_retries)
        self._client = client
        # Readiness probes must answer fast: no retries, no backoff.
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
                 timeout: float | None = None) -> str:
        """Plain text completion (``/v1/completions``), for base models.

        Returns:
            The generated text (may be empty).

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        response = self._call(
            self._client.completions.create,
            timeout,
            model=self.model,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=0.0,
            stop=list(stop) or None,
        )
        return (response.choices[0].text or "") if response.choices else ""

    def chat(self, messages: list[dict], *, max_tokens: int = 256, json_schema: dict | None = None,
             timeout: float | None = None) -> str:
        """Chat completion (``/v1/chat/completions``), optionally schema-constrained.

        Args:
            messages: OpenAI chat messages.
            max_tokens: generation limit in tokens.
            json_schema: when given, output is constrained to this schema in the
                backend's request form (see :meth:`response_format`).
            timeout: seconds for this request; the client default when None.

        Returns:
            The message content (a JSON string when ``json_schema`` is given).

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                                  "temperature": 0.0}
        if json_schema is not None:
            kwargs["response_format"] = self.response_format(json_schema)
        response = self._call(self._client.chat.completions.create, timeout, **kwargs)
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    def list_models(self, timeout: float = 3.0) -> list[str]:
        """IDs of the models the server serves (``GET /v1/models``).

        Raises:
            LLMTimeout, LLMUnavailable, LLMRejected.
        """
        page = self._call(self._probe_client.models.list, timeout)
        return [m.id for m in page.data]

    # ------------------------------------------------------------------ errors
    def _call(self, method, timeout: float | None, **kwargs):
        """Call the server, count it (``docextract_llm_calls_total``) and translate errors."""
        from app.observability.metrics import observe_llm_call

        call = "chat" if "messages" in kwargs else "completion" if "prompt" in kwargs else "models"
        start, outcome = time.perf_counter(), "error"
        try:
            result = self._translated_call(method, timeout, **kwargs)
            outcome = "ok"
            return result
        except LLMError as e:
            outcome = e.code.lower()
            raise
        finally:
            observe_llm_call(call, outcome, time.perf_counter() - start)

    def _translated_call(self, method, timeout: float | None, **kwargs):
        import openai

        kwargs["timeout"] = self.timeout if timeout is None else timeout
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
            log.warning("LLM server rejected request: %s %s", e.status_code, _short(e.message))
            raise LLMRejected(f"LLM server rejected the request ({e.status_code}): {_short(e.message)}") from e


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
