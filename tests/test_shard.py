"""`--shard i/n`: three machines' shards, merged by copying, equal one unsharded run with the same seed.

The scripted model's answers are a pure function of the question (a hash of it picks the tool and words the
strings), so the only thing that could make the outputs differ is how the requests are split and run."""
import hashlib, re, json, shutil
from pathlib import Path
import pytest
from fault_server import FaultServer
from agentsim.core import AgentsimError
from agentsim.evaluate import evaluate_trajectories
from agentsim.package import package_dataset
from agentsim.trajectories import generate_trajectories


def answer_for(path: str, body: dict) -> str:
    "A valid answer to every schema agentsim sends, decided by the question alone."
    schema = (body.get('response_format') or {}).get('json_schema', {}).get('schema', {})
    digest = hashlib.sha256(json.dumps(body.get('messages'), sort_keys=True).encode()).hexdigest()
    def value(sub: dict, defs: dict):
        if '$ref' in sub: return value(defs[sub['$ref'].rsplit('/', 1)[1]], defs)
        if 'anyOf' in sub: return value(sub['anyOf'][0], defs)
        if 'enum' in sub: return sub['enum'][int(digest[:4], 16) % len(sub['enum'])]
        kind = sub.get('type', 'string')
        if kind == 'object': return {name: value(s, defs) for name, s in sub.get('properties', {}).items()}
        if kind == 'array': return [value(sub.get('items', {}), defs) for _ in range(max(sub.get('minItems', 1), 1))]
        if kind == 'integer': return sub.get('minimum', 1) + int(digest[4:6], 16) % (sub.get('maximum', 5) - sub.get('minimum', 1) + 1)
        if kind == 'boolean': return int(digest[6:8], 16) % 2 == 0
        if kind == 'number': return float(int(digest[6:8], 16))
        if 'pattern' in sub:  # a date or a time (create_event): the first candidate the pattern accepts
            return next(c for c in ('2027-03-14', '09:30', 'ana@example.com', '') if re.fullmatch(sub['pattern'], c))
        return f'answer {digest[:10]}'
    return json.dumps(value(schema, schema.get('$defs', {}))) if schema else f'answer {digest[:10]}'


def write_requests(directory: Path, batches: int = 4):
    directory.mkdir()
    for batch in range(1, batches + 1):
        requests = [{'request': f'Plan a trip number {batch}.{k} and email the cost', 'explanation': 'search, calculate, email'}
                    for k in range(6)]
        (directory/f'{batch}.txt').write_text('```json\n' + json.dumps({'topic': 'Travel', 'requests': requests}) + '\n```\n')


def run(requests: Path, out: Path, url: str, shard: str | None = None):
    model = dict(llm='openai:m', base_url=f'{url}/v1', progress=False)
    generate_trajectories(requests, out/'trajectories', seed=7, max_steps=3, num_workers=3, shard=shard, **model)
    evaluate_trajectories(requests, out/'trajectories', out/'evaluations', num_workers=3, shard=shard, **model)


def without_seconds(value):
    "`value` without its wall-clock `seconds` entries, wherever they are."
    if isinstance(value, dict): return {k: without_seconds(v) for k, v in value.items() if k != 'seconds'}
    if isinstance(value, list): return [without_seconds(v) for v in value]
    return value


def files(directory: Path) -> dict:
    "Every file below `directory` by relative path; sidecars without their wall-clock timings."
    found = {}
    for path in sorted(p for p in directory.rglob('*') if p.is_file()):
        data = path.read_bytes()
        if path.parent.name == 'meta' and '_' in path.stem and path.stem[0].isdigit():  # a sidecar: seconds differ
            data = json.dumps(without_seconds(json.loads(data))).encode()
        found[str(path.relative_to(directory))] = data
    return found


@pytest.fixture
def server():
    with FaultServer(responder=answer_for) as server: yield server


def test_three_shards_merged_equal_one_run(tmp_path, server, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    requests = tmp_path/'requests'
    write_requests(requests)
    run(requests, tmp_path/'whole', server.url)
    calls_whole = server.count
    merged = tmp_path/'merged'
    for i in (1, 2, 3):
        run(requests, tmp_path/f'shard{i}', server.url, shard=f'{i}/3')
        shard_ids = {p.stem for p in (tmp_path/f'shard{i}'/'trajectories').glob('*_*.json')}
        assert 0 < len(shard_ids) < 24, f'shard {i} has {len(shard_ids)} of 24 requests'
        shutil.copytree(tmp_path/f'shard{i}', merged, dirs_exist_ok=True)
    assert server.count == 2 * calls_whole, 'the shards together ask exactly what one run asks'
    whole, together = files(tmp_path/'whole'), files(merged)
    # each shard keeps its failures in its own file, and only an unsharded run writes the directory's tool use
    assert {'trajectories/meta/failures.shard-1-of-3.json', 'evaluations/meta/failures.shard-3-of-3.json'} <= set(together)
    whole_run = json.loads(whole.pop('trajectories/meta/run.json'))
    assert whole_run.pop('tool_use') and json.loads(together.pop('trajectories/meta/run.json')) == whole_run
    for name in [n for n in together if 'failures' in n]: assert json.loads(together.pop(name)) == []
    assert json.loads(whole.pop('trajectories/meta/failures.json')) == json.loads(whole.pop('evaluations/meta/failures.json')) == []
    assert sorted(whole) == sorted(together)
    assert [name for name in whole if whole[name] != together[name]] == []
    assert len([n for n in whole if n.startswith('evaluations/') and n.endswith('.json')]) > 5
    # the merged directory is one run for the next stages
    package_dataset(requests, merged/'trajectories', merged/'evaluations', tmp_path/'merged-dataset', validation_size=1)
    package_dataset(requests, tmp_path/'whole'/'trajectories', tmp_path/'whole'/'evaluations', tmp_path/'whole-dataset',
                    validation_size=1)
    for name in ('train.jsonl', 'validation.jsonl'):
        assert (tmp_path/'merged-dataset'/name).read_bytes() == (tmp_path/'whole-dataset'/name).read_bytes()


def test_a_shard_needs_a_seed_and_a_valid_split(tmp_path, server):
    requests = tmp_path/'requests'
    write_requests(requests, batches=1)
    model = dict(llm='openai:m', base_url=f'{server.url}/v1', progress=False)
    with pytest.raises(AgentsimError, match='--shard 1/2 needs --seed'):
        generate_trajectories(requests, tmp_path/'out', shard='1/2', **model)
    assert not (tmp_path/'out').exists()
    with pytest.raises(AgentsimError, match='--shard 3/2: i must be between 1 and n'):
        generate_trajectories(requests, tmp_path/'out', shard='3/2', seed=1, **model)


def test_sharded_series_give_the_same_statistics(tmp_path, server, monkeypatch):
    "`agentsim_runs --shard i/2` on two machines, merged by copying: `agentsim_stats` reads the same series."
    from agentsim.runs import run_series
    from agentsim.stats import series_stats
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    requests = tmp_path/'requests'
    write_requests(requests, batches=3)
    model = dict(llm='openai:m', base_url=f'{server.url}/v1', progress=False, max_steps=3, num_workers=3)
    run_series(tmp_path/'whole', requests, runs=2, **model)
    for i in (1, 2):
        run_series(tmp_path/f'machine{i}', requests, runs=2, shard=f'{i}/2', **model)
        shutil.copytree(tmp_path/f'machine{i}', tmp_path/'merged', dirs_exist_ok=True)
    whole, merged = (series_stats(tmp_path/name, num_requests=18, bootstrap=0, name='s') for name in ('whole', 'merged'))
    assert whole['runs'] == merged['runs'] == 2
    assert json.dumps(whole, sort_keys=True, default=str) == json.dumps(merged, sort_keys=True, default=str)
