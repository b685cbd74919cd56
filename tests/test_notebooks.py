"Every notebook in nbs/ runs as one test, the way nbdev_test runs it, so pytest counts them."
import os
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_notebook

NBS = Path(__file__).resolve().parent.parent/'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))


@pytest.mark.parametrize('notebook', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook(notebook, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', str(NBS/'replay_cache.sqlite'))  # replay the answers recorded with the docs
    passed, seconds = run_notebook(notebook, skip_flags=['notest'], showerr=True)
    assert passed, f'{notebook.name} failed (traceback above)'
