"""Run notebooks in place and keep their outputs, recording the model's answers in the docs' replay cache.

The notebooks are the docs: their outputs are what a reader sees, and `nbs/replay_cache.sqlite` holds the model
answers behind them, so that the notebook tests replay instead of asking the model. After changing a prompt, run the
notebooks that show it again:

    python tools/execute_notebooks.py nbs/06_tools.ipynb nbs/07_planners.ipynb

Each notebook runs in `nbs/` (as nbdev_test runs it) with AGENTSIM_CACHE pointing at the docs' cache; the run stops
at the first error and leaves that notebook unwritten. `nbdev_clean` runs afterwards to strip execution metadata.
"""
import os, subprocess, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'


def execute(notebook: Path) -> float:
    "Run `notebook` top to bottom in `nbs/` and write it back with its new outputs; returns the seconds taken."
    start, cwd = time.monotonic(), os.getcwd()
    nb = read_nb(notebook)
    os.chdir(NBS)  # as nbdev_test runs them: relative paths are relative to nbs/
    try: CaptureShell(path=NBS).run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    write_nb(nb, notebook)
    return time.monotonic() - start


if __name__ == '__main__':
    os.environ['AGENTSIM_CACHE'] = str(NBS/'replay_cache.sqlite')
    paths = [Path(p).resolve() for p in sys.argv[1:]]
    if not paths: sys.exit('usage: python tools/execute_notebooks.py NOTEBOOK.ipynb ...')
    for path in paths:
        if not path.is_file(): sys.exit(f'error: {path}: no such notebook')
        print(f'{path.name}: {execute(path):.1f} s', flush=True)
    for path in paths: subprocess.run(['nbdev_clean', '--fname', str(path)], cwd=ROOT, check=True)  # only what ran
