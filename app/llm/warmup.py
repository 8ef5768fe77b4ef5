"""Warm a freshly started LLM server with one tiny completion.

A llama.cpp server that has just loaded its model answers ``/v1/models`` at
once, but its first completion also pays one-time costs (first touch of the
memory-mapped weights, the compute buffers, the thread pool). ``run.sh``'s
supervisor and the systemd unit send this completion as soon as the server
answers, so that the first caller's request is not the one that pays them
(docs/reliability.md, "The LLM's return").

Usage (settings from the environment and ``.env``, as the API reads them)::

    python -m app.llm.warmup            # exit 0 once warmed, 1 when the server failed

The completion goes through :class:`app.llm.client.LLMClient` without a circuit
breaker or retries; its prompt is a fixed word, never document text.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger(__name__)

WARMUP_PROMPT = "Hello"


def warm_up(client, timeout: float = 120.0) -> float:
    """Send one one-token completion and wait for it.

    Args:
        client: an :class:`app.llm.client.LLMClient` (or anything with its ``complete``).
        timeout: seconds the completion may take.

    Returns:
        Seconds the completion took.

    Raises:
        LLMTimeout, LLMUnavailable, LLMRejected: the server did not complete it.
    """
    start = time.monotonic()
    client.complete(WARMUP_PROMPT, max_tokens=1, stop=(), timeout=timeout)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    """``python -m app.llm.warmup``: warm the server of ``LLM_API_URL``; prints the seconds it took.

    Returns:
        0 when the completion came back, 1 when it failed (the message says why).
    """
    from app.config import Settings
    from app.errors import LLMError
    from app.llm.client import LLMClient

    settings = Settings.from_env()
    client = LLMClient(base_url=settings.llm_api_url, model=settings.llm_model, backend=settings.llm_backend,
                       api_key=settings.llm_api_key, timeout=120.0, max_retries=0)
    try:
        seconds = warm_up(client)
    except LLMError as e:
        print(f"LLM warm-up failed: {e.code}: {e.message}", file=sys.stderr)
        return 1
    print(f"LLM server at {settings.llm_api_url} warmed up: first completion in {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
