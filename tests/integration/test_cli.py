"""``python -m app extract`` in-process on real SROIE receipts: real OCR
(RapidOCR), a real llama.cpp server, CSV out with a progress bar, then resume."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

from tests.conftest import ROOT, llama_server_env, shared_path

RECEIPTS = {"X00016469619": ("INDAH GIFT & HOME DECO", "60.30"), "X00016469612": (None, "9.00")}


def test_cli_in_process_on_sroie_receipts(llama_server, tmp_path):
    images = shared_path("sroie", "images")
    folder = tmp_path / "receipts"
    folder.mkdir()
    for name in RECEIPTS:
        shutil.copy(images / f"{name}.jpg", folder)
    out = tmp_path / "results.csv"
    env = {**llama_server_env(), "LLM_API_URL": llama_server.url, "LLM_MAX_RETRIES": "0", "OCR_ENGINE": "rapidocr",
           "HARD_TOKEN": "", "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "app", "extract", str(folder), "--type", "receipt", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "extracting" in proc.stderr and "2/2" in proc.stderr  # progress bar
    assert "files processed" in proc.stderr  # summary table
    rows = {os.path.basename(r["path"]).split(".")[0]: r for r in csv.DictReader(out.open())}
    assert set(rows) == set(RECEIPTS)
    for name, (seller, total) in RECEIPTS.items():
        assert rows[name]["success"] == "True" and rows[name]["total"] == total
        if seller:
            assert rows[name]["seller"] == seller
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "skipped" in again.stderr
    assert len(list(csv.DictReader(out.open()))) == 2
