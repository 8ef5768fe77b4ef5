"""The committed generated gRPC code is what the pinned grpcio-tools makes of
the protos (regenerated into a temp dir, compared file by file), and the
docextract.v1 protos pass ``buf lint`` (STANDARD) when buf is installed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from app.grpc import codegen


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_generated_code_has_no_drift(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools is a dev dependency (requirements-dev.txt)")
    fresh = tmp_path / "generated"
    codegen.generate(fresh)
    committed, regenerated = _files(codegen.GENERATED), _files(fresh)
    assert sorted(committed) == sorted(regenerated), "files differ: run python -m app.grpc.codegen"
    stale = [name for name in committed if committed[name] != regenerated[name]]
    assert stale == [], f"stale generated files {stale}: run python -m app.grpc.codegen"


def test_generated_imports_are_package_absolute():
    for path in codegen.GENERATED.rglob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("import ", "from ")):
                assert not line.startswith(("import model_pb2", "from docextract")), (path, line)


def test_legacy_contract_unchanged():
    """Package, service, method, messages, field names and numbers of the ERP contract."""
    from app.grpc.generated import model_pb2

    service = model_pb2.DESCRIPTOR.services_by_name["ModelService"]
    assert model_pb2.DESCRIPTOR.package == "model" and service.full_name == "model.ModelService"
    method = service.methods_by_name["ExtractOCR"]
    assert (method.input_type.full_name, method.output_type.full_name) == ("model.UserRequest", "model.ModelResponse")
    assert not method.client_streaming and not method.server_streaming

    def shape(message):
        return [(f.name, f.number, f.type, f.is_repeated, f.has_presence) for f in message.fields]

    F = model_pb2.UserRequest.DESCRIPTOR.fields[0]
    assert shape(model_pb2.UserRequest.DESCRIPTOR) == [("image", 1, F.TYPE_BYTES, False, False),
                                                       ("prompt", 2, F.TYPE_STRING, False, False)]
    assert shape(model_pb2.ModelResponse.DESCRIPTOR) == [("output", 1, F.TYPE_STRING, False, False)]
    assert model_pb2.UserRequest(image=b"\x01", prompt="p").SerializeToString() == b"\n\x01\x01\x12\x01p"


def test_buf_lint_standard():
    buf = os.environ.get("BUF_BIN") or shutil.which("buf")
    if not buf:
        pytest.skip("buf not installed (npm install @bufbuild/buf, or set BUF_BIN)")
    result = subprocess.run([buf, "lint"], cwd=codegen.PROTO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
