"The library and the README are generated: they must match their notebooks."
import filecmp, shutil, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_nbdev_export_changes_nothing(tmp_path):
    for name in ('nbs', 'agentsim'): shutil.copytree(REPO/name, tmp_path/name)
    shutil.copy(REPO/'settings.ini', tmp_path)
    subprocess.run(['nbdev_export'], cwd=tmp_path, check=True, capture_output=True)
    modules = sorted(p.relative_to(REPO) for p in (REPO/'agentsim').rglob('*.py'))
    exported = sorted(p.relative_to(tmp_path) for p in (tmp_path/'agentsim').rglob('*.py'))
    assert modules == exported
    changed = [str(m) for m in modules if not filecmp.cmp(REPO/m, tmp_path/m, shallow=False)]
    assert not changed, f'run nbdev_export: these modules differ from their notebooks: {changed}'


def test_readme_matches_index_notebook():
    result = subprocess.run([sys.executable, 'tools/render_readme.py', '--check'], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
