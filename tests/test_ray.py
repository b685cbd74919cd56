"""`--ray`: a two-node Ray cluster on this machine runs a series (trajectories and ratings) against the scripted test server.

The head and a second node are started here (`ray start`, each with one CPU, in a temporary directory of their
own) and stopped at the end, by their process ids. The scripted model's answers are a pure function of the
question, so a run on Ray must write exactly what a run without it writes (the sidecars' seconds aside); the test
server counts the calls in flight, so the cluster-wide `--num_workers` limit is checked where it matters; and a
node killed in the middle of a run must cost nothing but time."""
import json, re, sys, threading, time
from pathlib import Path
import pytest
from fault_server import FaultServer
from test_shard import answer_for, files, write_requests
from agentsim.core import AgentsimError
from agentsim.runs import run_series
from agentsim.trajectories import generate_trajectories

ray = pytest.importorskip('ray', reason='needs the ray extra: pip install -e ".[ray]"')
from agentsim.cluster import LocalRayCluster, connect_ray  # noqa: E402  (after the skip: the module needs no ray, its tests do)


class InFlight:
    "The scripted answers, after `seconds`, counting the calls being answered at once."
    def __init__(self, seconds: float):
        self.seconds, self.now, self.peak, self.lock = seconds, 0, 0, threading.Lock()

    def __call__(self, path, body):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.seconds)
            return answer_for(path, body)
        finally:
            with self.lock: self.now -= 1


@pytest.fixture(scope='module')
def cluster():
    with LocalRayCluster(nodes=2, num_cpus=1) as cluster: yield cluster


@pytest.fixture
def server():
    answers = InFlight(0.03)
    with FaultServer(responder=answers) as server:
        server.answers = answers
        yield server


def trajectories(requests: Path, out: Path, url: str, **flags) -> dict:
    return generate_trajectories(requests, out, llm='openai:m', base_url=f'{url}/v1', seed=7, max_steps=3,
                                 progress=False, **{'num_workers': 4, **flags})


def without_ray(found: dict) -> dict:
    "The files of a run directory, its run record without the nodes Ray used (the one thing a run on Ray adds)."
    record = json.loads(found.pop('meta/run.json'))
    nodes = record.pop('ray_nodes', None)
    return {**found, 'meta/run.json': json.dumps(record, sort_keys=True).encode()}, nodes


def outputs(directory: Path) -> tuple[dict, list]:
    "Every file below `directory`: sidecars without their seconds, run records without `ray_nodes` (returned apart)."
    found, nodes = {}, []
    def drop_seconds(value):
        if isinstance(value, dict): return {k: drop_seconds(v) for k, v in value.items() if k != 'seconds'}
        return [drop_seconds(v) for v in value] if isinstance(value, list) else value
    for path in sorted(p for p in directory.rglob('*') if p.is_file()):
        data, name = path.read_bytes(), str(path.relative_to(directory))
        if path.parent.name == 'meta' and path.suffix == '.json':
            record = json.loads(data)
            if path.name == 'run.json': nodes += record.pop('ray_nodes', [])
            data = json.dumps(drop_seconds(record), sort_keys=True).encode()  # seconds differ from run to run
        found[name] = data
    return found, nodes


def test_a_series_on_two_nodes_equals_a_local_series(tmp_path, cluster, server, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    monkeypatch.setenv('RAY_ADDRESS', cluster.address)  # what `ray job submit` sets for its job: --ray auto finds it
    requests = tmp_path/'requests'
    write_requests(requests)
    model = dict(llm='openai:m', base_url=f'{server.url}/v1', max_steps=3, num_workers=4, progress=False)
    local = run_series(tmp_path/'local', requests, runs=2, **model)
    local_calls, server.answers.peak = server.count, 0
    on_ray = run_series(tmp_path/'ray', requests, runs=2, ray='auto', **model)
    assert server.count == 2 * local_calls, 'the cluster asks exactly what one process asks'
    assert 2 <= server.answers.peak <= 4, f'{server.answers.peak} calls in flight with --num_workers 4'
    def counts(series): return [{k: run[stage][k] for stage in ('trajectories', 'ratings') for k in run[stage]
                                 if k in ('done', 'unfinished', 'rated', 'empty', 'failed')} for run in series]
    assert counts(on_ray) == counts(local)  # some fail: the scripted answers miss a pattern or two
    (expected, _), (found, nodes) = outputs(tmp_path/'local'), outputs(tmp_path/'ray')
    assert sorted(found) == sorted(expected) and [name for name in expected if expected[name] != found[name]] == []
    assert len([n for n in found if n.startswith('evaluations_2/') and n.endswith('.json')]) > 5
    per_node = {}
    for entry in nodes: per_node[entry['node']] = per_node.get(entry['node'], 0) + entry['requests']
    assert len(per_node) == 2 and all(per_node.values()), f'both nodes work: {per_node}'


def test_the_cache_is_the_drivers(tmp_path, cluster, server, monkeypatch):
    "Tasks read the driver's replay cache and their new answers land in it: nodes need no copy of it."
    monkeypatch.setenv('AGENTSIM_CACHE', str(tmp_path/'cache.sqlite'))
    requests = tmp_path/'requests'
    write_requests(requests, batches=2)
    trajectories(requests, tmp_path/'ray-cold', server.url, ray=cluster.address)
    cold = server.count
    trajectories(requests, tmp_path/'local-warm', server.url)
    warm = server.count - cold  # only the questions whose answers were unusable (never cached) are asked again
    assert warm < cold / 3, 'every usable answer the tasks got is in the driver cache'
    trajectories(requests, tmp_path/'ray-warm', server.url, ray=cluster.address)
    assert server.count - cold - warm == warm, 'the tasks replay from the driver cache as one process does'
    (local, _), (found, _) = without_ray(files(tmp_path/'local-warm')), without_ray(files(tmp_path/'ray-warm'))
    assert [name for name in local if local[name] != found.get(name)] == []


def test_bad_addresses_are_one_line_and_write_nothing(tmp_path, command, monkeypatch):
    requests = tmp_path/'requests'
    write_requests(requests, batches=1)
    with __import__('socket').socket() as unused:
        unused.bind(('127.0.0.1', 0))
        port = unused.getsockname()[1]
    flags = ['--requests_dir', str(requests), '--output_dir', str(tmp_path/'out'), '--llm', 'openai:m',
             '--base_url', 'http://127.0.0.1:9/v1', '--seed', '1']
    finished = command('agentsim_trajectories', *flags, '--ray', f'127.0.0.1:{port}')
    assert finished.returncode == 2 and not (tmp_path/'out').exists()
    assert finished.stderr.strip() == f'error: --ray 127.0.0.1:{port}: no Ray head answers there (Connection refused)'
    finished = command('agentsim_trajectories', *flags, '--ray', 'auto', env={'RAY_ADDRESS': f'127.0.0.1:{port}'})
    assert finished.returncode == 2 and not (tmp_path/'out').exists()
    assert re.fullmatch(rf'error: --ray auto \([0-9.]+:{port}\): no Ray head answers there \(Connection refused\)\n',
                        finished.stderr), finished.stderr  # Ray names this machine by its own address, not 127.0.0.1
    finished = command('agentsim_trajectories', *flags, '--ray', 'head.example')
    assert finished.returncode == 2 and 'expected auto (the running cluster), local' in finished.stderr
    monkeypatch.setitem(sys.modules, 'ray', None)  # as if the extra were not installed
    finished = command('agentsim_trajectories', *flags, '--ray', 'auto')
    assert finished.returncode == 2 and not (tmp_path/'out').exists()
    assert finished.stderr.strip().startswith('error: --ray needs the optional extra ray (ray is not installed): pip install')
    assert len(finished.stderr.strip().splitlines()) == 1


def test_a_node_killed_mid_run_loses_nothing(tmp_path, cluster, monkeypatch):
    "Last in this module: it leaves the cluster with one node."
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    answers = InFlight(0.15)
    requests = tmp_path/'requests'
    write_requests(requests)
    with FaultServer(responder=answers) as server:
        trajectories(requests, tmp_path/'local', server.url)
        local_calls, started = server.count, {}
        run = threading.Thread(target=lambda: started.update(summary=trajectories(
            requests, tmp_path/'ray', server.url, ray=cluster.address)))
        run.start()
        deadline = time.monotonic() + 60
        while len(list((tmp_path/'ray').glob('*_*.json'))) < 3 and time.monotonic() < deadline: time.sleep(0.05)
        written_before = len(list((tmp_path/'ray').glob('*_*.json')))
        cluster.stop_node(1)  # SIGKILL: its raylet and the workers running its tasks die at once
        run.join(120)
        assert not run.is_alive() and 'summary' in started, 'the run went on without the node'
        assert 3 <= written_before < 24, written_before
        done_after_kill, ray_calls = len(list((tmp_path/'ray').glob('*_*.json'))), server.count - local_calls
        rest = trajectories(requests, tmp_path/'ray', server.url, ray=cluster.address)  # the rerun: exactly what is missing
        assert rest['skipped'] == done_after_kill and rest['done'] + rest['unfinished'] + rest['failed'] == 24 - done_after_kill
    (local, _), (found, nodes) = without_ray(files(tmp_path/'local')), without_ray(files(tmp_path/'ray'))
    assert sorted(found) == sorted(local) and [name for name in local if local[name] != found[name]] == []
    rerun = 24 - done_after_kill  # the failed ones are tried again, as by any resumed run
    assert sum(node['requests'] for node in nodes) == 24 + rerun, f'each request computed once per run: {nodes}'
    # a task running on the killed node is run again (its calls asked twice, its files written once); when the kill
    # lands between two of that node's tasks nothing is repeated, so the count can only be at least a local run's
    assert ray_calls >= local_calls, 'fewer calls than a local run: some request was never computed'


def test_the_study_refuses_an_unreachable_head_before_writing(tmp_path, command):
    with __import__('socket').socket() as unused:
        unused.bind(('127.0.0.1', 0))
        port = unused.getsockname()[1]
    finished = command('agentsim_study', '--study_dir', str(tmp_path/'study'), '--teacher', 'openai:m', '--student', 'local',
                       '--ray', f'127.0.0.1:{port}')
    assert finished.returncode == 2 and not (tmp_path/'study').exists()
    assert finished.stderr.strip().splitlines()[-1] == f'error: --ray 127.0.0.1:{port}: no Ray head answers there (Connection refused)'
