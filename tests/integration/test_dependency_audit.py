"""Dependency audit: ``pip-audit`` over the installed environment (requirements.txt
and requirements-dev.txt as installed by ``./run.sh test``) against PyPI's
vulnerability data (the PyPA Advisory Database, served with each release's JSON).

Fails when a known vulnerability affects an installed version (see
docs/security.md for what to do, and for the ``--ignore-vuln`` list, empty today).
Skipped, with the reason, when the vulnerability service cannot be reached or
answers for none of the packages: from this project's build machines PyPI's
per-release JSON (``https://pypi.org/pypi/<name>/<version>/json``) answers 404
for every package, so pip-audit can check nothing there, and OSV
(``api.osv.dev``) does not resolve. A network problem never fails CI; a found
vulnerability does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Vulnerability IDs accepted after review, each with its reason (docs/security.md). Empty today.
IGNORED: dict[str, str] = {}


def test_no_known_vulnerabilities_in_installed_packages(tmp_path):
    exe = shutil.which("pip-audit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("pip-audit is not installed (requirements-dev.txt; ./run.sh test installs it)")
    out = tmp_path / "audit.json"
    cmd = [exe, "--progress-spinner", "off", "--timeout", "20", "-f", "json", "-o", str(out)]
    for vuln in IGNORED:
        cmd += ["--ignore-vuln", vuln]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit did not finish within 600 s (vulnerability service too slow or unreachable)")
    if not out.is_file():
        pytest.skip(f"pip-audit could not run against its vulnerability service (exit {proc.returncode}): "
                    f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    deps = json.loads(out.read_text())["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    if not audited:
        reason = deps[0]["skip_reason"] if deps else "no dependencies listed"
        pytest.skip(f"pip-audit could audit none of the {len(deps)} installed packages (vulnerability service "
                    f"unreachable from here), e.g. {reason!r}")
    found = {f"{d['name']}=={d['version']}": [v["id"] for v in d.get("vulns", [])] for d in audited if d.get("vulns")}
    assert not found, f"known vulnerabilities in installed packages (upgrade the pins; docs/security.md): {found}"
