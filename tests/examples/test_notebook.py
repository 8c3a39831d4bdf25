"""examples/notebook/quickstart.ipynb runs headlessly, top to bottom, in a real Jupyter kernel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.mark.slow
def test_the_quickstart_notebook_runs_and_shows_each_step_inline(tmp_path: Path) -> None:
    notebook = nbformat.read(REPO / "examples" / "notebook" / "quickstart.ipynb", as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env_path) if p)  # the kernel's
    try:
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    html = "".join(o.get("data", {}).get("text/html", "") for c in notebook.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "the design review found nothing to fix" in html
    assert '<progress value="20" max="20"' in html  # the bar, updated in place to the end
    assert "20 completed" in html
    # The answer, inline: without reruns a lead is never called settled (analysis.goal), so it reads
    # "leads on" rather than "gives the lowest".
    assert "width=64 leads on val_error" in html or "width=64 gives the lowest val_error" in html
    assert html.count('<img src="data:image/png;base64,') >= 4  # the plots, inline
    assert "experiment: nb-quickstart-next" in html and "Nothing has run" in html  # the next round, shown
