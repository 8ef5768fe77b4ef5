#!/usr/bin/env python3
"""Manual entry point: serve the docextract API without ``run.sh``.

For installs done by hand (see ``docs/manual-install.md``)::

    python3 -m venv .venv && . .venv/bin/activate
    CMAKE_ARGS="..." pip install -r requirements.txt   # portable llama.cpp flags, see run.sh
    python3 -m llama_cpp.server --model weights/gemma-3-270m-q4_k_m.gguf --port 8001 &   # the LLM server
    python3 run.py

``python3 run.py`` loads ``.env``, checks the settings, waits until the LLM
server named by ``LLM_API_URL`` answers ``GET /models`` (at most
``LLM_WAIT_TIMEOUT`` seconds; ``--no-wait`` skips this), then serves
``app:create_app()`` on ``HOST``:``PORT``:

* by default through gunicorn with ``deploy/gunicorn.conf.py`` (the process is
  replaced by gunicorn, exactly as ``./run.sh api`` does; no LLM server is
  started);
* with ``--dev`` (or when gunicorn is not importable) through Flask's
  development server, debug off unless ``DEBUG=true``.

Exit status: 0 after a clean stop, 1 when the LLM server does not answer in
time, 2 when a setting is invalid.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def _say(message: str) -> None:
    print(f"[run.py] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Serve the docextract API on HOST:PORT (settings from the environment and .env).")
    parser.add_argument("--dev", action="store_true",
                        help="Flask's development server instead of gunicorn (debug only when DEBUG=true)")
    parser.add_argument("--no-wait", action="store_true",
                        help="start without waiting for the LLM server (/ready answers 503 until it is up)")
    return parser.parse_args(argv)


def wait_for_llm(settings, timeout: float, interval: float = 1.0) -> str | None:
    """Poll the LLM server's ``GET /models`` until it answers.

    Args:
        settings: :class:`app.config.Settings` naming the server (``llm_api_url``,
            ``llm_api_key``).
        timeout: seconds to keep trying; 0 means one try.
        interval: seconds between tries.

    Returns:
        None once the server answered, else the last error message.
    """
    from app.errors import LLMError
    from app.llm.client import LLMClient

    client = LLMClient.from_settings(settings)
    deadline = time.monotonic() + timeout
    while True:
        try:
            models = client.list_models(timeout=3.0)
            _say(f"LLM server answers at {settings.llm_api_url} (models: {', '.join(models) or 'none listed'})")
            return None
        except LLMError as e:
            last = e.message
        if time.monotonic() + interval > deadline:
            return last
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)  # `app` importable, relative paths of .env taken from the project root
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from dotenv import load_dotenv

    from app.config import ConfigError, Settings

    load_dotenv(ROOT / ".env", override=False)  # the process environment wins, as in run.sh
    try:
        settings = Settings.from_env(dotenv=False)
    except ConfigError as e:
        _say(f"invalid setting: {e}")
        return 2

    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    use_gunicorn = not args.dev and importlib.util.find_spec("gunicorn") is not None
    server = "gunicorn (deploy/gunicorn.conf.py)" if use_gunicorn else "Flask development server"
    if not args.dev and not use_gunicorn:
        _say("gunicorn is not installed: falling back to Flask's development server (pip install gunicorn)")
    _say(f"API will answer at http://{shown_host}:{settings.port} (bound to {settings.host}:{settings.port}, "
         f"{server}); try GET /health and /ready")
    _say(f"LLM server expected at {settings.llm_api_url} (backend {settings.llm_backend}, "
         f"model {settings.llm_model}); run.py does not start it")

    if not args.no_wait:
        _say(f"waiting for the LLM server at {settings.llm_api_url}/models (up to {settings.llm_wait_timeout:g} s)")
        error = wait_for_llm(settings, settings.llm_wait_timeout)
        if error is not None:
            _say(f"ERROR: the LLM server did not answer at {settings.llm_api_url} within "
                 f"{settings.llm_wait_timeout:g} s ({error}).")
            _say("Start it first (for example `./run.sh llm`, or `python3 -m llama_cpp.server --model "
                 "weights/gemma-3-270m-q4_k_m.gguf --model_alias gemma-3-270m --port 8001`), point "
                 "LLM_API_URL at it, raise LLM_WAIT_TIMEOUT, or pass --no-wait to start the API anyway.")
            return 1

    if use_gunicorn:
        # Replace this process: signals (Ctrl-C, SIGTERM from systemd) reach gunicorn's master directly.
        argv_gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "app:create_app()"]
        os.execv(sys.executable, argv_gunicorn)

    from app import create_app

    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, debug=settings.debug, use_reloader=settings.debug,
            threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
