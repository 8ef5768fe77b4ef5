"""Gunicorn settings for the docextract API, read from the environment.

Used as ``gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`` (``run.sh api``
and ``run.sh serve`` do this). Gunicorn executes this file once, in the master,
before any worker is forked; every module-level lowercase name that matches a
gunicorn setting is applied, the rest (helpers, ``ConfigError``) is ignored.

Environment variables (all optional; empty means "use the default"):

==========================  ===============  =========================================
variable                    default          meaning
==========================  ===============  =========================================
HOST                        0.0.0.0          address to bind (IPv6 without brackets)
PORT                        8000             TCP port to bind
GUNICORN_WORKERS            min(2, CPUs)     worker processes (each loads the OCR models)
GUNICORN_THREADS            8                request threads per worker (gthread)
GUNICORN_TIMEOUT            300              seconds; see ``timeout`` below
GUNICORN_GRACEFUL_TIMEOUT   60               seconds to finish requests on stop/restart
GUNICORN_KEEPALIVE          5                seconds an idle keep-alive connection is held
GUNICORN_MAX_REQUESTS       1000             recycle a worker after N requests (0 = never)
GUNICORN_MAX_REQUESTS_JITTER 100             random extra requests added per worker
GUNICORN_CONTROL_SOCKET     (gunicorn's)     path of gunicorn's control socket (>= 25.1)
FORWARDED_ALLOW_IPS         127.0.0.1,::1    proxies trusted for X-Forwarded-* headers
LOG_LEVEL                   INFO             shared with the app: debug/info/warning/error
LOG_FORMAT                  text             shared with the app: json = one JSON object per line
METRICS_ENABLED             true             shared with the app: Prometheus metrics on or off
PROMETHEUS_MULTIPROC_DIR    (a new temp dir) where workers write metric samples (wiped at start)
METRICS_PORT                (none)           serve /metrics on this port from the master instead
METRICS_HOST                127.0.0.1        address METRICS_PORT binds
MALLOC_TUNING               true             glibc malloc settings in each worker (below;
                                             none when run.sh preloaded jemalloc)
MALLOC_ARENA_MAX            2 (in workers)   glibc's own; set it to override ours
MALLOC_MMAP_THRESHOLD_      131072           glibc's own; set it to override ours
==========================  ===============  =========================================

Like the app's ``Settings.from_env``, values already in the process environment
win over the project's ``.env`` file, which is read (without overriding) so that
``PORT`` or ``GUNICORN_WORKERS`` set there apply however gunicorn was started.
A bad value stops gunicorn at start-up with a message naming the variable.
"""

import os
import shutil
import tempfile
from pathlib import Path


class ConfigError(ValueError):
    """An environment variable has a value gunicorn cannot run with."""


def _load_dotenv() -> None:
    env_file = Path(__file__).resolve().parent.parent / ".env"
    if not env_file.is_file():
        return
    try:
        from dotenv import load_dotenv
    except ImportError:  # python-dotenv is a project requirement; tolerate its absence here
        return
    load_dotenv(env_file, override=False)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value if value else default


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _cpu_count() -> int:
    # sched_getaffinity honours cpusets (docker --cpuset-cpus, systemd AllowedCPUs=);
    # os.cpu_count() reports every CPU of the host.
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _bind(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):  # bare IPv6 address
        host = f"[{host}]"
    return f"{host}:{port}"


_load_dotenv()

# --- Socket -----------------------------------------------------------------
bind = [_bind(_env("HOST", "0.0.0.0"), _int("PORT", 8000, 1, 65535))]

# --- Workers ----------------------------------------------------------------
# Each worker builds its own OCR engine and LLM client in create_app(), and the
# OCR models take about 300 MB of RAM per worker: two workers is the default
# even on big hosts; raise GUNICORN_WORKERS only with the memory to match.
workers = _int("GUNICORN_WORKERS", min(2, _cpu_count()), 1, 64)

# Threads, not processes, for concurrency: an extraction request spends most
# of its time waiting on the LLM server, which does its own batching.
# The worker is gunicorn's gthread worker that receives each request whole in
# its event loop before a thread runs it, and cuts a client silent for
# CLIENT_READ_TIMEOUT seconds mid-request (app/serving/worker.py): with plain
# gthread, a client that sends slowly holds a thread for as long as it likes,
# and 16 of them stopped /health (docs/reliability.md, "Slow clients").
# Importing it loads Flask in the master (no models, threads or sockets).
worker_class = "app.serving.worker.TimeoutThreadWorker"
# 8 threads: MAX_ACTIVE_REQUESTS (2) process, MAX_QUEUED_REQUESTS (4) wait for
# a slot, and two stay free for /health, /ready and quick 503 OVERLOADED refusals
# (app/api/admission.py). Keep GUNICORN_THREADS above the sum of those two.
threads = _int("GUNICORN_THREADS", 8, 1, 64)

# Worst LLM call: LLM_REQUEST_TIMEOUT (60 s) per field, times LLM_MAX_RETRIES + 1
# attempts. A sync worker is killed when one request outlasts `timeout`; the
# gthread worker's heartbeat comes from its event loop, so there `timeout`
# catches a wedged worker rather than a slow request. 300 s is above the worst
# call either way, so switching worker class never cuts extractions short.
timeout = _int("GUNICORN_TIMEOUT", 300, 1, 86400)
if timeout <= 60:
    raise ConfigError(
        f"GUNICORN_TIMEOUT must be above 60 seconds (one LLM call may take LLM_REQUEST_TIMEOUT=60 s), got {timeout}"
    )
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 60, 1, 3600)
keepalive = _int("GUNICORN_KEEPALIVE", 5, 0, 3600)

# Recycle workers now and then so a slow leak (native OCR/ONNX buffers) cannot
# grow forever; the jitter keeps all workers from restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000, 0, 10_000_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100, 0, 10_000_000)

# Heartbeat files are touched every second by every worker: keep them in RAM
# (a disk-backed /tmp can stall on fsync-heavy hosts and trigger false timeouts).
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# No preloading. The app factory builds the OCR engine (onnxruntime sessions
# with their own thread pools) and the LLM client (an httpx connection pool).
# Thread pools and sockets do not survive fork(): created in the master and
# inherited, they would deadlock or be shared between workers. With
# preload_app = False the master imports nothing of the app; each worker calls
# create_app() after the fork and owns its models outright. The cost is a
# slower worker start, paid once per worker (and per max_requests recycle).
preload_app = False

# --- Proxy ------------------------------------------------------------------
# Peers allowed to set X-Forwarded-For/-Proto (nginx on the same host by
# default). Behind Docker's port mapping the peer is the bridge gateway; set
# the proxy's address explicitly there, and "*" only on a private network.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Logging ----------------------------------------------------------------
# stdout/stderr: journald (systemd) and `docker compose logs` collect them.
accesslog = "-"
errorlog = "-"
loglevel = _env("LOG_LEVEL", "info").lower()
if loglevel not in ("debug", "info", "warning", "error"):
    raise ConfigError(f"LOG_LEVEL must be one of debug, info, warning, error, got {loglevel!r}")
# Default combined format plus the request time in milliseconds.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
if _env("LOG_FORMAT", "text").lower() == "json":
    # One JSON object per line: the app writes its own request line (trace id, route,
    # status, duration, document type), so gunicorn's plain access line is off, and
    # gunicorn's own messages use the app's JSON formatter (app/observability/logs.py).
    accesslog = None
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "app.observability.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"}},
        # The root logger gets no handler here: the app adds its own (with the trace id) in each worker.
        "root": {"level": loglevel.upper(), "handlers": []},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}},
    }

# --- Control socket (gunicorn >= 25.1; older versions ignore the name) -------
# The default lives under $XDG_RUNTIME_DIR or ~/.gunicorn, which does not exist
# (or is read-only) for a system user under ProtectHome=: the systemd unit
# points it at its RuntimeDirectory instead.
if _env("GUNICORN_CONTROL_SOCKET", ""):
    control_socket = _env("GUNICORN_CONTROL_SOCKET", "")

# --- Prometheus metrics (app/observability/metrics.py) ------------------------
# Multiprocess mode: each worker writes its samples to memory-mapped files in
# PROMETHEUS_MULTIPROC_DIR and /metrics merges them. The variable must be set
# before a worker imports prometheus_client, so it is set here, in the master,
# and inherited by every forked worker. The directory is wiped when gunicorn
# starts (stale files would add a previous run's counts) and dead workers'
# live gauges are dropped in child_exit.
# Source: https://prometheus.github.io/client_python/multiprocess/
_metrics_enabled = _env("METRICS_ENABLED", "true").lower() not in ("0", "false", "no", "off")
_metrics_port = _int("METRICS_PORT", 0, 0, 65535)
_own_metrics_dir = False
if _metrics_enabled and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="docextract-metrics-")
    _own_metrics_dir = True


def on_starting(server):
    """Master start (once, not on reload): an empty multiprocess directory."""
    if not _metrics_enabled:
        return
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def when_ready(server):
    """With METRICS_PORT, the master serves the merged metrics on that port."""
    if _metrics_enabled and _metrics_port:
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(_metrics_port, addr=_env("METRICS_HOST", "127.0.0.1"), registry=registry)
        server.log.info("metrics on http://%s:%s/metrics", _env("METRICS_HOST", "127.0.0.1"), _metrics_port)


def post_fork(server, worker):
    """In each new worker, before the app starts threads: glibc malloc settings that keep
    its RSS from growing with freed OCR buffers (app/serving/memory.py, docs/reliability.md);
    nothing when ``run.sh`` preloaded jemalloc (``MEMORY_ALLOCATOR``)."""
    from app.serving.memory import tune_malloc

    applied = tune_malloc()
    if applied:
        server.log.debug("worker %s: malloc %s", worker.pid, " ".join(f"{k}={v}" for k, v in applied.items()))


def child_exit(server, worker):
    """A worker died: drop its live gauges (its counters stay in the totals)."""
    if _metrics_enabled:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Master exit: remove the multiprocess directory gunicorn created itself."""
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
