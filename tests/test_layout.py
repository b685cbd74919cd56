"""The run directory's layout is the original's: its statistics, computed as its notebook computes them, read a series
that `agentsim_runs` wrote, and agree with `agentsim_stats`."""
import hashlib, json, math, re
from pathlib import Path
import numpy as np
import pytest
from fault_server import FaultServer
from agentsim.runs import run_series
from agentsim.stats import series_stats


def instance(schema: dict, defs: dict, salt: str):
    "A value that satisfies the JSON schema `schema`; integers in a range vary with `salt`."
    if '$ref' in schema: return instance(defs[schema['$ref'].split('/')[-1]], defs, salt)
    if 'anyOf' in schema: return instance(schema['anyOf'][0], defs, salt)
    if 'enum' in schema:
        choices = schema['enum']
        return choices[int(hashlib.sha256(salt.encode()).hexdigest(), 16) % len(choices)]
    kind = schema.get('type')
    if kind == 'object':
        return {name: instance(sub, defs, f'{salt}/{name}') for name, sub in schema.get('properties', {}).items()}
    if kind == 'array':
        count = schema.get('minItems', 1)
        return [instance(schema.get('items', {}), defs, f'{salt}/{i}') for i in range(count)]
    if kind == 'integer':
        low, high = schema.get('minimum', 1), schema.get('maximum', 5)
        return low + int(hashlib.sha256(salt.encode()).hexdigest(), 16) % (high - low + 1)
    if kind == 'number': return 1.0
    if kind == 'boolean': return int(hashlib.sha256(salt.encode()).hexdigest(), 16) % 2 == 0
    if 'pattern' in schema:  # a date or a time (create_event): the first candidate the pattern accepts
        return next(c for c in ('2027-03-14', '09:30', 'ana@example.com', '') if re.fullmatch(schema['pattern'], c))
    return 'x'


def answer(path: str, body: dict) -> str:
    "Any model call, answered: free text for tools, a schema-valid object (varied by the prompt) for the rest."
    schema = ((body.get('response_format') or {}).get('json_schema') or {}).get('schema') or body.get('json_schema')
    prompt = json.dumps(body.get('messages') or body.get('prompt'))
    if not schema: return 'A result of the simulated tool.'
    value = instance(schema, schema.get('$defs', {}), prompt)
    if 'selected_tool' in value or 'selected_action' in value:  # a planner: search once, then answer
        key = 'selected_tool' if 'selected_tool' in value else 'selected_action'
        value[key] = 'final_answer' if 'Step 1' in prompt or '1. Task' in prompt else 'search_internet'
    return json.dumps(value)


def original_statistics(series: Path, n: int, threshold: int = 4) -> dict:
    "The original notebook's computation, restated from formats-and-metrics.md: every *.json in each evaluations_*."
    per_run = {'pass_rate': [], 'bad_task_rate': [], 'completion_rate': []}
    for folder in sorted(series.glob('evaluations_*')):
        evaluations = [json.loads(path.read_text()) for path in folder.glob('*.json')]
        steps = [step for e in evaluations for step in e['steps']]
        per_run['pass_rate'].append(sum(e['final_answer_rating'] >= threshold for e in evaluations) / n)
        per_run['bad_task_rate'].append(sum(s['task_rating'] < threshold for s in steps) / len(steps))
        per_run['completion_rate'].append(len(evaluations) / n)
    return {metric: (float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values))))
            for metric, values in per_run.items()}


@pytest.fixture
def series(tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    requests = tmp_path/'requests'
    requests.mkdir()
    (requests/'0.txt').write_text('```json\n' + json.dumps({'requests': [
        {'request': f'Question number {i}?', 'topic': 't'} for i in range(3)]}) + '\n```')
    (requests/'1.txt').write_text('```json\n' + json.dumps({'topic': 'Travel', 'requests': [
        {'request': f'Find fact {i} and tell me.', 'explanation': 'search, answer'} for i in range(6)]}) + '\n```')
    with FaultServer(responder=answer) as server:
        run_series(tmp_path/'series', requests, runs=3, llm='openai:m', base_url=f'{server.url}/v1',
                   direct_answer='simple', num_workers=2, progress=False, judge_method='single')
    return tmp_path/'series'


def test_runs_hold_only_the_originals_files_at_their_top_level(series):
    for folder in [*series.glob('trajectories_*'), *series.glob('evaluations_*')]:
        names = {path.name for path in folder.iterdir()}
        assert 'meta' in names and (folder/'meta'/'run.json').is_file(), folder
        others = {name for name in names - {'meta'} if not name.endswith(('.json', '.txt'))}
        assert not others, others
        assert all(name.split('.')[0].replace('_', '').isdigit() for name in names - {'meta'}), names
        assert not list(folder.glob('*.txt')) or folder.name.startswith('evaluations')


def test_the_originals_statistics_read_the_series_and_agree(series):
    mine = series_stats(series, num_requests=9, bootstrap=0)
    theirs = original_statistics(series, n=9)
    assert mine['runs'] == 3
    for metric, (mean, se) in theirs.items():
        assert mine[metric]['mean'] == pytest.approx(mean) and mine[metric]['se'] == pytest.approx(se), metric
    assert 0 < theirs['pass_rate'][0] < 1  # the ratings vary, so the comparison says something
