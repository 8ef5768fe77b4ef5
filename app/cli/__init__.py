"""Command line: ``python -m app extract PATH... [options]`` (and ``python -m app users ...``,
named API keys for the review UI: :mod:`app.cli.users`).

Extracts the fields of every image (and PDF, where the pipeline reads PDFs)
under the given files and folders, either in this process (the app's own
:class:`app.pipeline.DocumentPipeline`, built by ``create_app`` from the
environment like the server) or against a running server (``--url``), and
writes one record per file to ``--out`` (``.jsonl`` or ``.csv``; JSON lines on
stdout without it). A progress bar runs on stderr; a summary table ends the
run. Runs are resumable: files already in the output are skipped, so an
interrupted run picks up where it stopped.

The CLI is a door like the HTTP routes: it validates ``--type``/``--info``
with the same :class:`app.api.schemas.ExtractConfig` and calls the same
pipeline; it adds no extraction logic.

Exit status: 0 when every file was processed (or skipped), 1 when any failed,
2 on a usage error (bad option, no file found, unreachable server).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable

#: File name suffixes the CLI picks up in folders (the pipeline decides what it can read).
SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif", ".pdf", ".xml")
#: Leading CSV columns; one column per field key follows.
CSV_COLUMNS = ("path", "success", "error_code", "message", "document_type", "total_ms")


class UsageError(Exception):
    """A bad command line (exit status 2)."""


def find_files(paths: Iterable[str]) -> list[Path]:
    """Files named, and files with a known suffix under folders named (recursively), sorted, no duplicates.

    Raises:
        UsageError: a path does not exist.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUFFIXES:
                    found[child.resolve()] = None
        elif path.is_file():
            found[path.resolve()] = None
        else:
            raise UsageError(f"no such file or folder: {raw}")
    return list(found)


def done_paths(out: Path) -> set[str]:
    """Paths already recorded in ``out`` (JSON lines or CSV); empty when it does not exist."""
    if not out.exists():
        return set()
    done = set()
    with out.open(newline="", encoding="utf-8") as f:
        if out.suffix.lower() == ".csv":
            done = {row["path"] for row in csv.DictReader(f) if row.get("path")}
        else:
            for line in f:
                try:
                    done.add(json.loads(line)["path"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by an interrupted run is done again
    return done


def record(path: Path, result: dict, document_type: str | None = None) -> dict:
    """The output record of one file: the pipeline's result plus ``path``, ``total_ms``
    and ``document_type`` (the result's, else the one asked for)."""
    timings = result.get("processing_time") or {}
    total = timings.get("total_ms")
    if total is None and ("ocr_ms" in timings or "extraction_ms" in timings):
        total = round(timings.get("ocr_ms", 0.0) + timings.get("extraction_ms", 0.0), 1)
    return {"path": str(path), **result, "document_type": result.get("document_type") or document_type,
            "total_ms": total}


class Writer:
    """Appends records to a JSON-lines or CSV file (or stdout), flushed per record, thread-safe."""

    def __init__(self, out: Path | None, field_keys: list[str]):
        self.out = out
        self.csv = out is not None and out.suffix.lower() == ".csv"
        self._lock = threading.Lock()
        if out is None:
            self._file = sys.stdout
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            fresh = not out.exists() or out.stat().st_size == 0
            self._file = out.open("a", newline="", encoding="utf-8")
            if self.csv:
                columns = list(CSV_COLUMNS) + field_keys
                if not fresh:
                    with out.open(newline="", encoding="utf-8") as f:
                        columns = next(csv.reader(f), columns)
                self._csv = csv.DictWriter(self._file, fieldnames=columns, extrasaction="ignore")
                if fresh:
                    self._csv.writeheader()

    def write(self, rec: dict) -> None:
        with self._lock:
            if self.csv:
                row = {k: rec.get(k) for k in CSV_COLUMNS}
                row.update(rec.get("extracted_fields") or {})
                self._csv.writerow(row)
            else:
                self._file.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()


# ---------------------------------------------------------------- backends


def in_process_backend(config) -> Callable[[Path], dict]:
    """Extract with this process's pipeline (``create_app`` from the environment, like the server).

    Raises:
        ConfigError, EngineUnavailable: the settings or the OCR engine are unusable.
    """
    from app import create_app
    from app.errors import ServiceError
    from app.pipeline import Upload

    services = create_app().extensions["docextract"]
    options = config.options(services.settings)

    def run(path: Path) -> dict:
        try:
            batch = services.pipeline.extract_batch([Upload(path.name, path.read_bytes())], config.info, options,
                                                    document_type=config.document_type)
        except ServiceError as e:  # not per-file (LLM server down, ...): this file fails with it
            return {"filename": path.name, "success": False, **e.to_dict()}
        return batch.to_dicts(config.display_text_box)[0]

    return run


def http_backend(config, url: str, token: str, timeout: float) -> Callable[[Path], dict]:
    """Extract by ``POST {url}/extract`` on a running server (one file per request)."""
    import requests

    session = requests.Session()
    body = json.dumps(config.model_dump(exclude_none=True, exclude_defaults=True), ensure_ascii=False)
    headers = {"X-API-Token": token} if token else {}
    endpoint = url.rstrip("/") + "/extract"

    def run(path: Path) -> dict:
        try:
            with path.open("rb") as f:
                r = session.post(endpoint, files={"image_file": (path.name, f)}, data={"config": body},
                                 headers=headers, timeout=timeout)
        except requests.RequestException as e:
            return {"filename": path.name, "success": False, "error_code": "CONNECTION_ERROR",
                    "message": f"{type(e).__name__}: {e}"}
        try:
            answer = r.json()
        except ValueError:
            return {"filename": path.name, "success": False, "error_code": f"HTTP_{r.status_code}",
                    "message": r.text[:200]}
        results = (answer.get("data") or {}).get("results") or []
        if results:
            return results[0]
        return {"filename": path.name, "success": False, "error_code": answer.get("error_code", f"HTTP_{r.status_code}"),
                "message": answer.get("message", "")}

    return run


# ---------------------------------------------------------------- command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="docextract command line")
    sub = parser.add_subparsers(dest="command", required=True)
    from app.cli.users import add_parser as add_users_parser

    add_users_parser(sub)
    from app.weights import add_parser as add_weights_parser

    add_weights_parser(sub)
    ex = sub.add_parser("extract", help="extract fields from files and folders of documents",
                        description="Extract fields from every image/PDF under PATH... into JSON lines or CSV.")
    ex.add_argument("paths", nargs="+", metavar="PATH", help="files and folders (searched recursively)")
    ex.add_argument("--type", dest="document_type", help="document type (cccd_front, cccd_back, invoice, "
                    "receipt, purchase_order, sales_order, or auto: detected per file)")
    ex.add_argument("--info", help='extra fields as JSON: {"key": "description", ...}')
    ex.add_argument("--mode", choices=("per_field", "schema"), help="LLM mode (server default when omitted)")
    ex.add_argument("--out", type=Path, help="output file, .jsonl or .csv (appended to; files in it are skipped); "
                    "JSON lines on stdout when omitted")
    ex.add_argument("--workers", type=int, default=1, help="files processed at once (default 1)")
    ex.add_argument("--url", help="a running server (http://host:port) instead of processing in this process")
    ex.add_argument("--token", default=None, help="API token for --url (default: HARD_TOKEN of the environment)")
    ex.add_argument("--timeout", type=float, default=600.0, help="seconds per request with --url (default 600)")
    ex.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _config(args):
    from pydantic import ValidationError

    from app.api.schemas import ExtractConfig

    data = {}
    if args.info:
        try:
            data["info"] = json.loads(args.info)
        except json.JSONDecodeError as e:
            raise UsageError(f"--info is not valid JSON: {e.msg}") from None
    if args.document_type:
        data["document_type"] = args.document_type
    if args.mode:
        data["mode"] = args.mode
    if not data.get("info") and not data.get("document_type"):
        raise UsageError("give --type and/or --info")
    try:
        return ExtractConfig.model_validate(data)
    except ValidationError as e:
        raise UsageError("; ".join(f"{'.'.join(map(str, err['loc'])) or 'config'}: {err['msg']}"
                                   for err in e.errors())) from None


def _field_keys(config) -> list[str]:
    """CSV field columns: the type's fields and ``info``'s; every type's with ``--type auto``."""
    from app.extraction.doctypes import DOCUMENT_TYPES, resolve_fields

    if config.document_type != "auto":
        return [spec.key for spec in resolve_fields(config.document_type, config.info)[1]]
    keys = list(dict.fromkeys(spec.key for doc in DOCUMENT_TYPES.values() for spec in doc.fields))
    return keys + [k for k in (config.info or {}) if k not in keys]


def summary_table(records: list[dict], skipped: int, seconds: float, field_keys: list[str]):
    """A ``rich`` table: files by outcome, time per file, how often each field was found."""
    from rich.table import Table

    table = Table(title="docextract: summary", show_lines=False)
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    ok = [r for r in records if r.get("success")]
    failed = [r for r in records if not r.get("success")]
    table.add_row("files processed", str(len(ok)))
    table.add_row("files failed", str(len(failed)))
    table.add_row("files skipped (already in output)", str(skipped))
    codes: dict[str, int] = {}
    for r in failed:
        codes[r.get("error_code", "ERROR")] = codes.get(r.get("error_code", "ERROR"), 0) + 1
    for code, n in sorted(codes.items(), key=lambda kv: -kv[1]):
        table.add_row(f"  failed: {code}", str(n))
    times = [r["total_ms"] for r in ok if isinstance(r.get("total_ms"), (int, float))]
    if times:
        table.add_row("median time per file", f"{statistics.median(times) / 1000:.2f} s")
    table.add_row("wall time", f"{seconds:.1f} s")
    if records and seconds > 0:
        table.add_row("throughput", f"{len(records) / seconds * 60:.1f} files/min")
    for key in field_keys:
        found = sum(1 for r in ok if (r.get("extracted_fields") or {}).get(key) not in (None, ""))
        table.add_row(f"field {key} found", f"{found}/{len(ok)}")
    return table


def extract_command(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    console = Console(stderr=True)
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.out is not None and args.out.suffix.lower() not in (".jsonl", ".csv", ".json"):
        raise UsageError("--out must end in .jsonl or .csv")
    config = _config(args)
    files = find_files(args.paths)
    if not files:
        raise UsageError("no image or PDF found under " + " ".join(args.paths))
    done = done_paths(args.out) if args.out else set()
    todo = [p for p in files if str(p) not in done]
    skipped = len(files) - len(todo)
    if args.url:
        token = args.token
        if token is None:
            from app.config import Settings

            token = Settings.from_env().hard_token
        run = http_backend(config, args.url, token, args.timeout)
    else:
        run = in_process_backend(config)
    keys = _field_keys(config)
    writer = Writer(args.out, keys)
    records: list[dict] = []
    start = time.perf_counter()
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, disable=args.no_progress) as progress:
            task = progress.add_task("extracting", total=len(todo))
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                futures = {pool.submit(run, path): path for path in todo}
                for future in as_completed(futures):
                    rec = record(futures[future], future.result(),
                                 None if config.document_type == "auto" else config.document_type)
                    writer.write(rec)
                    records.append(rec)
                    progress.advance(task)
    finally:
        writer.close()
    console.print(summary_table(records, skipped, time.perf_counter() - start, keys))
    return 1 if any(not r.get("success") for r in records) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m app``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "extract":
            return extract_command(args)
        if args.command == "users":
            from app.cli.users import users_command

            return users_command(args)
        if args.command == "weights":
            from app.weights import run as weights_check

            return weights_check(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 2
