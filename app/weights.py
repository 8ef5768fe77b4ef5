"""``python -m app weights check``: whether every package and model file the configured
engines need is present, and how to get the rest.

Each engine checks its own files (:mod:`app.requirements`: the registry;
:func:`app.ocr.rapid.check_rapidocr`, :func:`app.ocr.hybrid.check_hybrid`,
:mod:`app.ocr.paddle_models`, :mod:`app.llm.local`); this module picks the components the
settings use and prints the report (exit status 0 when everything needed is present, 1
otherwise, 2 on a bad setting)::

    python -m app weights check                     # engines of the configured settings
    python -m app weights check --engine paddleocr  # one engine, whatever is configured
    python -m app weights check --json

(``python -m app.weights check`` is the same command.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Mapping, Sequence

from app.config import ConfigError, Settings
from app.llm.local import DEFAULT_GGUF_PATH
from app.requirements import CHECK_MODULES, CheckContext, Requirement, check_component, check_title

CHECKABLE = tuple(CHECK_MODULES)


def engines_for(settings: Settings) -> list[str]:
    """The checkable components the settings use: the OCR engine, plus the LLM when local."""
    names = [settings.ocr_engine]
    if settings.llm_backend in ("llamacpp", "vllm"):
        names.append(settings.llm_backend)
    return names


def check_engine(
    name: str,
    settings: Settings,
    *,
    gguf_path: str | os.PathLike | None = None,
    hf_home: str | os.PathLike | None = None,
    probe_gpu: bool = True,
) -> list[Requirement]:
    """Requirements of one component (one of :data:`CHECKABLE`; its own module's check,
    :func:`app.requirements.check_component`).

    Raises:
        ValueError: unknown name.
    """
    return check_component(name, CheckContext(settings, gguf_path, hf_home, probe_gpu))


def check_settings(
    settings: Settings,
    engines: Sequence[str] | None = None,
    *,
    gguf_path: str | os.PathLike | None = None,
    hf_home: str | os.PathLike | None = None,
    probe_gpu: bool = True,
) -> dict[str, list[Requirement]]:
    """Requirements of each component, in order.

    Args:
        settings: service settings.
        engines: components to check; :func:`engines_for` when None.
        gguf_path: GGUF file for ``llamacpp`` (default ``weights/gemma-3-270m-q4_k_m.gguf``).
        hf_home: Hugging Face home for ``vllm``.
        probe_gpu: see :func:`check_paddleocr`.

    Returns:
        ``{component: [Requirement, ...]}``.
    """
    names = list(dict.fromkeys(engines or engines_for(settings)))
    return {
        name: check_engine(name, settings, gguf_path=gguf_path, hf_home=hf_home, probe_gpu=probe_gpu)
        for name in names
    }


def all_present(results: Mapping[str, Sequence[Requirement]]) -> bool:
    """True when no required item is missing."""
    return all(req.ok for reqs in results.values() for req in reqs)


# --- CLI ---------------------------------------------------------------------------

def _print_report(results: Mapping[str, Sequence[Requirement]], out) -> None:
    for name, reqs in results.items():
        print(f"{check_title(name)}:", file=out)
        for req in reqs:
            tag = "ok" if req.present else ("MISSING" if req.required else "note")
            print(f"  [{tag:7}] {req.name}: {req.detail}", file=out)
            if not req.present and req.how_to_get:
                print(f"            how to get it: {req.how_to_get}", file=out)
    gaps = sum(1 for reqs in results.values() for req in reqs if not req.ok)
    print("All requirements present." if not gaps else f"{gaps} requirement(s) missing.", file=out)


def add_parser(sub) -> None:
    """Add ``weights check`` to the subcommands ``sub`` of ``python -m app`` (:mod:`app.cli`)."""
    weights = sub.add_parser("weights", help="check the packages and model files the engines need",
                             description="Check the packages and model files the engines need.")
    _add_check(weights.add_subparsers(dest="weights_command", required=True))


def _add_check(sub) -> None:
    check = sub.add_parser("check", help="report what is present and how to obtain the rest")
    check.add_argument(
        "--engine",
        action="append",
        choices=CHECKABLE,
        help="check this component (repeatable); default: OCR_ENGINE plus the local LLM backend",
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--no-gpu-probe", action="store_true", help="do not import paddle to look for the GPU")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m app.weights`` (the same command as ``python -m app weights``)."""
    parser = argparse.ArgumentParser(
        prog="python -m app.weights", description="Check the packages and model files the engines need."
    )
    _add_check(parser.add_subparsers(dest="weights_command", required=True))
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    out=None,
) -> int:
    """Run the CLI.

    Args:
        argv: arguments without the program name (``sys.argv[1:]`` when None).
        settings: settings to check; ``Settings.from_env()`` when None.
        environ: where ``LLM_GGUF_PATH`` and ``HF_HOME`` are read; ``os.environ`` when None.
        out: text stream for the report (stdout when None).

    Returns:
        0 when everything needed is present, 1 when something is missing,
        2 when a setting is invalid.
    """
    return run(build_parser().parse_args(argv), settings=settings, environ=environ, out=out)


def run(args: argparse.Namespace, *, settings: Settings | None = None, environ: Mapping[str, str] | None = None,
        out=None) -> int:
    """``weights check`` with parsed ``args`` (``engine``, ``json``, ``no_gpu_probe``); the
    rest and the exit status as :func:`main`."""
    out = out or sys.stdout
    if settings is None:
        try:
            settings = Settings.from_env()  # loads .env into os.environ first
        except ConfigError as e:
            print(f"invalid setting: {e}", file=sys.stderr)
            return 2
    env = os.environ if environ is None else environ
    results = check_settings(
        settings,
        args.engine,
        gguf_path=env.get("LLM_GGUF_PATH") or DEFAULT_GGUF_PATH,
        hf_home=env.get("HF_HOME") or None,
        probe_gpu=not args.no_gpu_probe,
    )
    ok = all_present(results)
    if args.json:
        payload = {"ok": ok, "engines": {name: [asdict(r) for r in reqs] for name, reqs in results.items()}}
        print(json.dumps(payload, indent=2), file=out)
    else:
        _print_report(results, out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
