import os, sys
from pathlib import Path
import pytest

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parent.parent


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
