"""notebooks/analysis.ipynb runs clean against an analyst snapshot and draws its figures.

The notebook's config is pointed at the snapshot with ECHO_CONFIG; the kernel is "python3", which
jupyter_client starts with this interpreter (the venv's), so `make test` works on a fresh clone.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_report_helpers import seeded, write_config

from echo.analyst.snapshot import publish

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "analysis.ipynb"


def test_analysis_notebook_runs_on_a_snapshot(config, tmp_path, monkeypatch):
    store, run_id = seeded(config, tmp_path)
    with store:
        publish(store, config, run_id)
    monkeypatch.setenv("ECHO_CONFIG", str(write_config(config, tmp_path / "echo.toml")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"newest run: {run_id}" in text and "newest release: 2025.04.01" in text
    assert "'mined': 10" in text and "embedded now: 0" in text

    plots = [o["data"]["application/vnd.plotly.v1+json"] for o in outputs
             if o.output_type == "display_data" and "application/vnd.plotly.v1+json" in o.get("data", {})]
    # funnel, volume, mix, polarity, keywords, categories, map, lengths, diversity
    assert len(plots) == 9
    kinds = [sorted({t["type"] for t in p["data"]}) for p in plots]
    assert ["funnel"] in kinds and ["pie"] in kinds and ["box"] in kinds
    map_fig = next(p for p in plots if any("reference" in (t.get("name") or "") for t in p["data"]))
    assert sum(len(t["text"]) for t in map_fig["data"]) == 10 + 3 * 4  # one hover text per point

    html_tables = "\n".join(o["data"].get("text/html", "") for o in outputs if o.output_type == "execute_result")
    assert "watercolor / fox" in html_tables          # cluster_summary view
    assert "dropped: text duplicate of" in html_tables  # duplicate_groups view with its reason
    assert "first-bigram diversity" in html_tables
