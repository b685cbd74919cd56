"Request generation, rating, packaging and the demo, against the fault-injecting server (the real model runs in the notebooks)."
import csv, json
from pathlib import Path
import pytest
from agentsim.formats import load_requests
from agentsim.generate import requests_multi, requests_single
from agentsim.evaluate import evaluate_trajectories
from agentsim.package import package_dataset
from agentsim.planners import finetuned_prompt


@pytest.fixture(autouse=True)
def no_cache(monkeypatch): monkeypatch.setenv('AGENTSIM_CACHE', 'off')


def batch(prefix, n=6, topic='Travel'):
    return json.dumps({'topic': topic, 'requests': [{'request': f'{prefix} request {i}', 'explanation': 'steps'}
                                                    for i in range(n)]})


def singles(prefix, n):
    return json.dumps({'requests': [{'request': f'{prefix} question {i}?', 'topic': 't'} for i in range(n)]})


def model(server): return dict(llm='openai:m', base_url=f'{server.url}/v1')


def test_single_requests_in_chunks_without_duplicates(fault_server, tmp_path):
    fault_server.script(('ok', singles('a', 5)), ('ok', singles('a', 2)), ('ok', singles('b', 2)))
    counts = requests_single(tmp_path, num_requests=7, **model(fault_server))
    assert counts == {'written': 1, 'skipped': 0, 'failed': 0, 'dropped': {'duplicate': 2}, 'failures': []}
    loaded = load_requests(tmp_path)
    assert [r.id for r in loaded] == [f'0_{i}' for i in range(7)] and loaded.requests[5].text == 'b question 0?'
    assert (tmp_path/'0.txt').read_text().startswith('```json\n')
    assert requests_single(tmp_path, num_requests=7, **model(fault_server))['skipped'] == 1
    assert fault_server.count == 3


def test_multi_batches_are_checked_and_regenerated(fault_server, tmp_path):
    fault_server.script(('ok', batch('x', n=6)), ('ok', batch('x', n=6)),  # batch 1 ok; batch 2 repeats batch 1
                        ('ok', batch('y', n=6).replace('y request 3', 'please ask me for details')),  # "ask me"
                        ('ok', batch('z', n=6)))
    counts = requests_multi(tmp_path, num_batches=2, num_workers=1, progress=False, **model(fault_server))
    # batch 2: all 6 repeat batch 1, then 5 of 6 are usable, then the first answer fills the last slot
    assert counts == {'written': 2, 'skipped': 0, 'failed': 0, 'failures': [],
                      'dropped': {'duplicate': 6, 'asks the agent to "ask me"': 1, 'more than asked for': 5}}
    assert fault_server.count == 4
    texts = [r.text for r in load_requests(tmp_path)]
    assert len(texts) == 12 and len(set(texts)) == 12 and not any('ask me' in t for t in texts)
    assert requests_multi(tmp_path, num_batches=3, progress=False, **model(fault_server))['skipped'] == 2


def test_a_batch_that_stays_bad_is_recorded(fault_server, tmp_path):
    fault_server.default_content = batch('same', n=6).replace('same request 1', 'same request 0')  # always a duplicate
    counts = requests_multi(tmp_path, num_batches=1, progress=False, **model(fault_server))
    assert counts['failed'] == 1 and not (tmp_path/'1.txt').exists()
    failure = json.loads((tmp_path/'meta'/'failures.json').read_text())[0]
    assert failure['id'] == '1' and '1 of 6 requests still missing' in failure['reason'] and fault_server.count == 5
    assert 'the last answer: 6 duplicate' in failure['reason']  # every request of the last answer was known


def write_run(directory: Path, trajectories: dict):
    (directory/'requests').mkdir(parents=True)
    (directory/'trajectories').mkdir()
    (directory/'requests'/'1.txt').write_text('```json\n' + batch('r', n=len(trajectories)) + '\n```')
    for i, steps in trajectories.items():
        if steps is not None: (directory/'trajectories'/f'1_{i}.json').write_text(json.dumps(steps))


def step(tool, task='t', result='r'): return {'plan': {'task': task, 'selected_tool': tool, 'thoughts': 'x',
                                                    'context_information_summary': 'c', 'user_request': 'u',
                                                    'missing_information_or_action': 'm'}, 'result': result}


def judge_answer(n_steps, final=4):
    return json.dumps({'steps': [{'explanation': 'fine', 'task_rating': 4, 'tool_rating': 5, 'result_rating': 3}] * n_steps,
                       'explanation': 'ok', 'final_answer_rating': final})


def test_evaluation_format_counts_and_reasks(fault_server, tmp_path):
    write_run(tmp_path, {0: [step('search_internet'), step('final_answer')], 1: [], 2: None,
                         3: [step('final_answer')], 4: 'not a list'})
    (tmp_path/'trajectories'/'1_4.json').write_text('{"plan": 1}')
    fault_server.script(('ok', judge_answer(3)), ('ok', judge_answer(1)), ('ok', judge_answer(0, final=2)))
    counts = evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', num_workers=1,
                                   judge_method='single',  # the original's one-call judge: its answer format is tested here
                                   output_formatted_trajectories=True, progress=False, **model(fault_server))
    assert {k: counts[k] for k in ('rated', 'empty', 'missing', 'failed')} == {'rated': 2, 'empty': 1, 'missing': 1, 'failed': 1}
    evaluation = json.loads((tmp_path/'evaluations'/'1_0.json').read_text())
    assert list(evaluation) == ['steps', 'final_answer_rating', 'explanation']
    assert evaluation['steps'] == [{'task_rating': 4, 'tool_rating': 5, 'result_rating': 3, 'explanation': 'fine'}]
    assert json.loads((tmp_path/'evaluations'/'1_3.json').read_text())['steps'] == []
    assert 'Final answer: r' in (tmp_path/'evaluations'/'1_0.txt').read_text()
    failures = json.loads((tmp_path/'evaluations'/'meta'/'failures.json').read_text())
    assert failures[0]['id'] == '1_4' and 'not a trajectory' in failures[0]['reason']
    schema = fault_server.requests[0]['body']['response_format']['json_schema']['schema']
    assert schema['properties']['steps']['minItems'] == 1 == schema['properties']['steps']['maxItems']
    again = evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', judge_method='single',
                                  progress=False, **model(fault_server))
    assert again['skipped'] == 2 and again['rated'] == 0


@pytest.mark.parametrize('bad', [judge_answer(1, final=7), judge_answer(1, final=3).replace('"task_rating": 4', '"task_rating": 4.5')])
def test_ratings_out_of_range_are_asked_again(fault_server, tmp_path, bad):
    write_run(tmp_path, {0: [step('search_internet'), step('final_answer')]})
    fault_server.script(('ok', bad), ('ok', judge_answer(1, final=5)))
    evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', progress=False, judge_method='single',
                          **model(fault_server))
    assert json.loads((tmp_path/'evaluations'/'1_0.json').read_text())['final_answer_rating'] == 5


def test_package_examples_split_and_files(tmp_path):
    steps = [step('search_internet', 'find', 'found'), step('final_answer', 'answer', 'done')]
    write_run(tmp_path, {i: steps for i in range(6)})
    (tmp_path/'evaluations').mkdir()
    for i, rating in enumerate([5, 4, 4, 3, 5]):  # 1_5 has no evaluation
        (tmp_path/'evaluations'/f'1_{i}.json').write_text(json.dumps({'steps': [], 'final_answer_rating': rating}))
    counts = package_dataset(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', tmp_path/'ds',
                             validation_size=2, rating_threshold=4)
    assert (counts['kept'], counts['dropped_for_rating'], counts['skipped_missing']) == (4, 1, 1)
    assert (counts['train_examples'], counts['validation_examples']) == (4, 4)
    meta = [json.loads(line) for line in (tmp_path/'ds'/'metadata.jsonl').read_text().splitlines()]
    sides = {}
    for m in meta: sides.setdefault(m['request_id'], set()).add(m['split'])
    assert all(len(s) == 1 for s in sides.values()) and len(sides) == 4
    first = json.loads((tmp_path/'ds'/'train.jsonl').read_text().splitlines()[0])['messages']
    request_id = [m for m in meta if m['split'] == 'train'][0]['request_id']
    request_text = {r.id: r.text for r in load_requests(tmp_path/'requests')}[request_id]
    assert first[0] == {'role': 'user', 'content': finetuned_prompt(request_text, [])}
    assert json.loads(first[1]['content']) == {'context_information_summary': 'c', 'thoughts': 'x', 'task': 'find',
                                               'selected_tool': 'search_internet'}
    rows = list(csv.DictReader((tmp_path/'ds'/'validation.csv').open()))
    assert len(rows) == 4 and rows[0]['text'].startswith('<s>[INST] User request:') and rows[0]['text'].endswith('}</s>')
    card = (tmp_path/'ds'/'README.md').read_text()
    assert 'rated >= 4' in card and '4 trajectories kept' in card


def test_package_reports_bad_evaluations(tmp_path, capsys):
    write_run(tmp_path, {0: [step('final_answer')], 1: [step('final_answer')]})
    (tmp_path/'evaluations').mkdir()
    (tmp_path/'evaluations'/'1_0.json').write_text('{"final_answer_rating": 9}')
    (tmp_path/'evaluations'/'1_1.json').write_text('{"final_answer_rating": 4, "steps": [], "explanation": ""}')
    counts = package_dataset(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', tmp_path/'ds', 0)
    assert counts['kept'] == 1 and counts['skipped_bad'] == 1
    assert any('final_answer_rating is 9, outside 1-5' in problem for problem in counts['problems'])


@pytest.mark.parametrize('name, flags, message', [
    ('agentsim_requests_single', ['--num_requests', '0'], '--num_requests must be at least 1'),
    ('agentsim_requests_multi', ['--num_batches', '-2'], '--num_batches must be at least 1'),
    ('agentsim_requests_multi', ['--num_workers', '0'], '--num_workers must be at least 1'),
    ('agentsim_evaluate', ['--trajectories_dir', '/nonexistent'], '--trajectories_dir /nonexistent: no such directory'),
    ('agentsim_package', ['--rating_threshold', '0'], '--rating_threshold must be 1-5'),
    ('agentsim_package', ['--validation_size', '-1'], '--validation_size must not be negative'),
    ('agentsim_demo', ['--rating_threshold', '9'], '--rating_threshold must be 1-5'),
])
def test_pipeline_commands_reject_bad_flags(tmp_path, command, name, flags, message):
    (tmp_path/'t').mkdir()
    (tmp_path/'e').mkdir()
    defaults = {'agentsim_evaluate': ['--requests_dir', str(tmp_path)], 'agentsim_package':
                ['--trajectories_dir', str(tmp_path/'t'), '--evaluations_dir', str(tmp_path/'e')]}
    result = command(name, '--output_dir', str(tmp_path/'out'), *defaults.get(name, []), *flags)
    assert result.returncode == 2 and message in result.stderr and 'Traceback' not in result.stderr, result.stderr


def test_demo_end_to_end_and_rerun(fault_server, tmp_path, command):
    fault_server.script(('ok', singles('s', 2)), ('ok', batch('m')))
    plan = json.dumps({'user_request': 'u', 'context_information_summary': 'c', 'missing_information_or_action': 'm',
                       'thoughts': 't', 'task': 'answer', 'selected_tool': 'final_answer',
                       'steps': [], 'explanation': 'fine', 'final_answer_rating': 5})
    # after the requests, every call gets this: a valid plan for the planner, a valid rating of a one-step
    # trajectory for the judge (each schema ignores the other's keys), and some text for the tools
    fault_server.default_content = plan
    out = tmp_path/'demo'
    result = command('agentsim_demo', '--output_dir', str(out), '--llm', 'openai:m', '--base_url', f'{fault_server.url}/v1', '--judge_method', 'single',
                     '--num_workers', '1', env={'AGENTSIM_CACHE': str(tmp_path/'c.sqlite')})
    assert result.returncode == 0, result.stderr
    assert 'trajectories: 8 finished' in result.stdout and 'ratings:      8 rated' in result.stdout
    assert 'dataset:      8 trajectories kept' in result.stdout and 'pass rate:    1.00' in result.stdout
    assert all((out/name).is_dir() for name in ('requests', 'trajectories', 'evaluations', 'dataset'))
    calls = fault_server.count
    for path in (out/'trajectories').glob('*_*.json'): path.unlink()
    rerun = command('agentsim_demo', '--output_dir', str(out), '--llm', 'openai:m', '--base_url', f'{fault_server.url}/v1', '--judge_method', 'single',
                    env={'AGENTSIM_CACHE': str(tmp_path/'c.sqlite')})
    assert rerun.returncode == 0 and fault_server.count == calls  # everything replayed from the cache


def test_runs_make_the_original_layout_with_seed_per_run(fault_server, tmp_path, monkeypatch, command, capsys):
    monkeypatch.setenv('AGENTSIM_CACHE', str(tmp_path/'cache.sqlite'))
    requests = tmp_path/'requests'
    write_run(tmp_path, {0: None, 1: None})
    fault_server.default_content = json.dumps({
        'user_request': 'u', 'context_information_summary': 'c', 'missing_information_or_action': 'm', 'thoughts': 't',
        'task': 'answer', 'selected_tool': 'final_answer', 'selected_action': 'final_answer', 'steps': [],
        'explanation': 'fine', 'final_answer_rating': 4})
    from agentsim.runs import run_series
    results = run_series(tmp_path/'series', requests, runs=2, planner='zeroshot', planner_llm='openai:m', judge_method='single',
                         llm='openai:m', base_url=f'{fault_server.url}/v1', progress=False)
    assert [r['run'] for r in results] == [1, 2]
    assert capsys.readouterr() == ('', '')  # the library function prints nothing: the command does
    for i in (1, 2):
        assert json.loads((tmp_path/'series'/f'trajectories_{i}'/'meta'/'run.json').read_text())['seed'] == i
        assert sorted(p.name for p in (tmp_path/'series'/f'evaluations_{i}').glob('1_*.json')) == ['1_0.json', '1_1.json']
    assert fault_server.count == 2 * (2 + 2 + 2)  # planner, tool and judge per request per run: no run replays another
    calls = fault_server.count
    run_series(tmp_path/'series', requests, runs=2, planner='zeroshot', planner_llm='openai:m', llm='openai:m', judge_method='single',
               base_url=f'{fault_server.url}/v1', progress=False)
    assert fault_server.count == calls
    printed = command('agentsim_runs', str(tmp_path/'series'), f'--requests_dir={requests}', '--runs=2', '--planner=zeroshot', '--judge_method=single',
                      '--planner_llm=openai:m', '--llm=openai:m', f'--base_url={fault_server.url}/v1',
                      env={'AGENTSIM_CACHE': str(tmp_path/'cache.sqlite')})
    assert printed.returncode == 0 and fault_server.count == calls, printed.stderr
    lines = printed.stderr.splitlines()
    assert [line for line in lines if line.startswith('run ')] == ['run 1: seed 1', 'run 2: seed 2']
    assert sum(line.startswith('trajectories: 0 finished') and '2 skipped' in line for line in lines) == 2
    assert sum(line.startswith('ratings: 0 rated') and '2 skipped' in line for line in lines) == 2
    result = command('agentsim_stats', str(tmp_path/'series'), '--format', 'json')
    stats = json.loads(result.stdout)[0]
    assert stats['runs'] == 2 and stats['pass_rate']['values'] == [1.0, 1.0]
