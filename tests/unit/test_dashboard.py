"""deploy/grafana/docextract-dashboard.json: valid JSON, well-formed panels, and
every metric it queries is one the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.observability import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "docextract-dashboard.json"


def exported_sample_names() -> set[str]:
    """Sample names of every metric in the service's registry (counters end in _total,
    histograms have _bucket/_count/_sum), whether or not anything was recorded yet."""
    names = set()
    for family in metrics.REGISTRY.collect():
        if family.type == "counter":
            names |= {family.name + "_total", family.name + "_created"}
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_count", "_sum", "_created")}
        else:
            names.add(family.name)
    return names


def queries() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dash["panels"]:
        out += [t["expr"] for t in panel.get("targets", [])]
    return out


def test_dashboard_is_valid_grafana_json():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and isinstance(dash["schemaVersion"], int)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert {"type", "title", "gridPos"} <= panel.keys()
        for target in panel.get("targets", []):
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_every_queried_metric_exists():
    exported = exported_sample_names()
    used = {name for expr in queries() for name in re.findall(r"\bdocextract_[a-z_]+\b", expr)}
    assert used, "the dashboard queries no docextract metric"
    assert not used - exported, f"dashboard queries metrics the service does not export: {used - exported}"
    # And every stage/latency family the issue names is on the dashboard.
    for name in ("docextract_http_requests_total", "docextract_stage_duration_seconds_bucket",
                 "docextract_llm_calls_total", "docextract_fields_total", "docextract_pages_total",
                 "docextract_queue_depth", "docextract_process_resident_memory_bytes"):
        assert name in used, name
