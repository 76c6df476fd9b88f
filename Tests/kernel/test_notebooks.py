"""Every notebook in notebooks/ runs top to bottom on the gradti kernel without an error output."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def error_outputs(nb) -> list[str]:
    """Error outputs, except in cells tagged `raises-exception` (nbclient's mark for a deliberate error)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path):
    nb = nbformat.read(path, as_version=4)
    # allow_errors lets every cell run, so the assertion below lists all failures at once.
    client = NotebookClient(nb, kernel_name="gradti", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    assert error_outputs(nb) == []
