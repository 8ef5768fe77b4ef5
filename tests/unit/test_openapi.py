"""The OpenAPI 3.1 description: valid, complete (every route of the app), and
matching real responses (validated against the schemas it declares)."""

from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: F401

from app import create_app
from app.api.openapi import build_spec
from app.config import Settings
from tests.conftest import FakeOcrEngine, app_with_fakes, png_bytes

ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}


def make_app(**settings):
    return app_with_fakes(ANSWERS, **settings)


@pytest.fixture(scope="module")
def app():
    return make_app(rate_limit="1000/minute")


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/openapi.json").get_json()


def test_spec_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec)  # raises OpenAPIValidationError with the path of the first problem


def test_every_route_is_described(app, spec):
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # static files (the docs page's script and style)
        if rule.rule == "/ui" or rule.rule.startswith("/ui/"):
            continue  # the review web page: HTML for people, not the JSON API (docs/review-ui.md)
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (path, method.lower()) not in described:
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from app/api/openapi.py OPERATIONS: {missing}"
    assert described <= {(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", r.rule), m.lower())
                         for r in app.url_map.iter_rules() for m in r.methods}, "spec names a route the app lacks"


def test_config_schema_is_the_routes_pydantic_model(spec):
    from app.api.schemas import ExtractConfig

    config = spec["paths"]["/extract"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert config["properties"]["config"]["$ref"] == "#/components/schemas/ExtractConfig"
    assert spec["components"]["schemas"]["ExtractConfig"]["properties"].keys() == ExtractConfig.model_fields.keys()


def _validator(spec, path, method, status):
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


@pytest.mark.parametrize("path,method,kwargs,status", [
    ("/health", "get", {}, 200),
    ("/ready", "get", {}, 200),
    ("/livez", "get", {}, 200),
    ("/readyz", "get", {}, 200),
    ("/ocr", "post", {"data": {"image_file": [(io.BytesIO(png_bytes()), "a.png"), (io.BytesIO(b"x"), "b.png")]}},
     200),
    ("/id_card_scan/ocr", "post", {"data": {"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                            "display_text_box": "false"}}, 200),
    ("/extract", "post", {"data": {"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                   "config": json.dumps({"document_type": "receipt", "info": {
                                       "shop": "name of the shop"}, "display_text_box": True})}}, 200),
    ("/extract", "post", {"data": {"image_file": (io.BytesIO(png_bytes()), "a.png"), "config": "{"}}, 400),
    ("/ocr", "post", {"data": {}}, 400),
])
def test_real_responses_match_their_schema(app, spec, path, method, kwargs, status):
    r = getattr(app.test_client(), method)(path, **kwargs)
    assert r.status_code == status, r.get_json()
    _validator(spec, path, method, status).validate(r.get_json())


def test_not_ready_matches_schema():
    app = create_app(Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0), ocr_engine=FakeOcrEngine())
    spec = build_spec()
    for path in ("/ready", "/readyz"):
        r = app.test_client().get(path)
        assert r.status_code == 503
        _validator(spec, path, "get", 503).validate(r.get_json())


def test_docs_page_is_self_contained(app):
    r = app.test_client().get("/docs")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the docs page must not load external assets"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    script = app.test_client().get("/docs/static/docs.js")
    assert script.status_code == 200 and 'fetch("openapi.json")' in script.get_data(as_text=True)
    assert app.test_client().get("/docs/static/docs.css").status_code == 200


def test_docs_script_renders_every_operation(spec, tmp_path):
    """The docs page's script, run by Node.js against a minimal DOM, renders every operation and schema."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(spec))
    here = Path(__file__).parent
    script = here.parents[1] / "app" / "api" / "static" / "docs.js"
    out = subprocess.run([node, str(here / "docs_page_harness.js"), str(script), str(spec_file)],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    rendered = json.loads(out)
    assert rendered["operations"] == sum(len(item) for item in spec["paths"].values())
    assert rendered["schemas"] == len(spec["components"]["schemas"])
    assert rendered["title"].startswith("docextract")
