import os, sys
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
    from agentsim.local import LlamaServer, gguf_path
    with LlamaServer(gguf_path(), parallel=2, context=8192) as server: yield server
