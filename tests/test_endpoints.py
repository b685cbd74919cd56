"""Several replicas behind `--base_url a,b,c`: requests spread over all of them, and a replica that fails is routed
around, against real HTTP servers on 127.0.0.1."""
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pydantic import BaseModel, Field
from fault_server import FaultServer
from agentsim.llm import LLM, OpenAIChat, RetryPolicy
from agentsim.local import free_port
from agentsim.trajectories import generate_trajectories
from test_shard import answer_for, write_requests

FAST = RetryPolicy(retries=2, backoff=0.05, max_wait=2.0, timeout=2.0)


class City(BaseModel):
    city: str = Field(max_length=60)
    country: str = Field(max_length=60)


def replicas(count: int, delay: float = 0.0) -> tuple[ExitStack, list[FaultServer]]:
    stack = ExitStack()
    servers = [stack.enter_context(FaultServer()) for _ in range(count)]
    for server in servers: server.delay = delay
    return stack, servers


def ask_many(llm: LLM, count: int, workers: int) -> list:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda i: llm(f'capital number {i}?', schema=City).value, range(count)))


def test_calls_spread_over_every_replica():
    stack, servers = replicas(3, delay=0.05)
    with stack:
        backend = OpenAIChat('m', base_url=','.join(f'{s.url}/v1' for s in servers), timeout=FAST.timeout)
        answers = ask_many(LLM(backend, cache=None, retry=FAST), count=30, workers=6)
        assert len(answers) == 30 and all(a.city == 'Paris' for a in answers)
        counts = [server.count for server in servers]
        assert sum(counts) == 30 and min(counts) >= 6, counts  # each replica kept busy, none idle
        assert backend.endpoints.busy == [0, 0, 0]


def test_a_dead_replica_is_routed_around():
    stack, (alive,) = replicas(1)
    dead = f'http://127.0.0.1:{free_port()}/v1'
    with stack:
        backend = OpenAIChat('m', base_url=f'{dead},{alive.url}/v1', timeout=FAST.timeout)
        answers = ask_many(LLM(backend, cache=None, retry=FAST), count=20, workers=4)
        assert len(answers) == 20 and alive.count == 20
        # the dead one was tried and then left alone for its cooldown, not once per call
        assert 1 <= backend.endpoints.failures[0] <= 4 and backend.endpoints.failures[1] == 0


def test_a_failing_replica_hands_its_call_to_another():
    stack, (failing, healthy) = replicas(2)
    with stack:
        failing.script(*[('status', 500)] * 5)
        backend = OpenAIChat('m', base_url=f'{failing.url}/v1,{healthy.url}/v1', timeout=FAST.timeout)
        llm = LLM(backend, cache=None, retry=RetryPolicy(retries=0, backoff=0.05, max_wait=1.0, timeout=2.0))
        # no retries allowed: the first call succeeds only because the 500 is handed over to the other replica
        assert llm('capital?', schema=City).value.country == 'France'
        assert (failing.count, healthy.count) == (1, 1)


def test_a_run_over_two_replicas(tmp_path, monkeypatch):
    "The whole trajectories stage with `--base_url a,b`: every request done, both replicas used."
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    write_requests(tmp_path/'requests', batches=2)
    with FaultServer(responder=answer_for) as first, FaultServer(responder=answer_for) as second:
        summary = generate_trajectories(tmp_path/'requests', tmp_path/'out', llm='openai:m', seed=1, max_steps=3,
                                        num_workers=4, base_url=f'{first.url}/v1,{second.url}/v1', progress=False)
        assert summary['failed'] == 0 and summary['done'] + summary['unfinished'] == 12
        assert first.count > 0 and second.count > 0
    assert json.loads((tmp_path/'out'/'meta'/'run.json').read_text())['tool_model'].count('127.0.0.1') == 2
