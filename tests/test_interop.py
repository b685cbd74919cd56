"""Interoperability with the original: the fine-tuned planner's exact prompt bytes, a dataset its trainer reads,
tool refusals recorded, and generators that over- or under-deliver losing nothing."""
import json
import pytest
from datasets import DatasetDict
from original_planner_server import OriginalPlannerServer
from agentsim.core import AgentsimError
from agentsim.evaluate import evaluate_trajectories
from agentsim.generate import requests_single
from agentsim.package import package_dataset
from agentsim.trajectories import generate_trajectories

REQUEST = 'What is the population of Lyon, doubled?'
RESULT = 'Lyon has about 520,000 inhabitants.'


@pytest.fixture(autouse=True)
def no_cache(monkeypatch): monkeypatch.setenv('AGENTSIM_CACHE', 'off')


def write_requests(directory, texts):
    directory.mkdir(parents=True, exist_ok=True)
    batch = {'topic': 'Travel', 'requests': [{'request': t, 'explanation': 'steps'} for t in texts]}
    (directory/'1.txt').write_text('```json\n' + json.dumps(batch) + '\n```')


def plan(task, tool):
    return {'context_information_summary': 'summary', 'thoughts': 'thoughts', 'task': task, 'selected_tool': tool}


# the prompts below are written out from the original's description, not built with agentsim's functions
PROMPT_NO_STEPS = ('User request:\n\n```\nWhat is the population of Lyon, doubled?\n```\n\n'
                   'Context information:\n\n```\n<no previous steps available>\n```\n\nPlan the next step.')
PROMPT_ONE_STEP = ('User request:\n\n```\nWhat is the population of Lyon, doubled?\n```\n\n'
                   'Context information:\n\n```\nTask: Find the population of Lyon\n'
                   'Result: Lyon has about 520,000 inhabitants.\n```\n\nPlan the next step.')
PROMPT_TWO_STEPS = ('User request:\n\n```\nWhat is the population of Lyon, doubled?\n```\n\n'
                    'Context information:\n\n```\nTask: Find the population of Lyon\n'
                    'Result: Lyon has about 520,000 inhabitants.\n\nTask: Double 520,000\n'
                    'Result: Lyon has about 520,000 inhabitants.\n```\n\nPlan the next step.')


def test_finetuned_planner_sends_the_original_prompt_bytes(fault_server, tmp_path):
    fault_server.default_content = RESULT  # every simulated tool answers this
    write_requests(tmp_path/'requests', [REQUEST])
    with OriginalPlannerServer() as planner:
        planner.expect(PROMPT_NO_STEPS, plan('Find the population of Lyon', 'search_wikipedia'))
        planner.expect(PROMPT_ONE_STEP, plan('Double 520,000', 'calculate_number'))
        planner.expect(PROMPT_TWO_STEPS, plan('About 1,040,000', 'final_answer'))
        summary = generate_trajectories(tmp_path/'requests', tmp_path/'out', planner='finetuned', planner_host='127.0.0.1',
                                        planner_port=planner.port, llm='openai:m', base_url=f'{fault_server.url}/v1',
                                        seed=1, p_no_answer=0, p_partial_answer=0, progress=False)
    assert planner.problems == [] and summary['failures'] == [], (planner.problems, summary['failures'])
    assert summary['done'] == 1 and len(planner.bodies) == 3 and not planner.expected
    steps = json.loads((tmp_path/'out'/'1_0.json').read_text())
    assert [list(s['plan']) for s in steps] == [['context_information_summary', 'thoughts', 'task', 'selected_tool']] * 3
    assert json.loads((tmp_path/'out'/'meta'/'run.json').read_text())['prompt_format'] == 'original'


def test_agentsim_layout_is_a_named_alternative_and_runs_do_not_mix(fault_server, tmp_path):
    fault_server.default_content = RESULT
    write_requests(tmp_path/'requests', [REQUEST])
    with OriginalPlannerServer() as planner:
        planner.expect('User request:\nWhat is the population of Lyon, doubled?\n\nSteps so far:\nNone yet.\n\n'
                       'Plan the next step.', plan('Answer', 'final_answer'))
        summary = generate_trajectories(tmp_path/'requests', tmp_path/'out', planner='finetuned', planner_host='127.0.0.1',
                                        planner_port=planner.port, llm='openai:m', base_url=f'{fault_server.url}/v1',
                                        seed=1, progress=False, prompt_format='agentsim')
    assert planner.problems == [] and summary['done'] == 1
    assert json.loads((tmp_path/'out'/'meta'/'run.json').read_text())['prompt_format'] == 'agentsim'
    with pytest.raises(AgentsimError, match='made with --prompt_format agentsim'):
        generate_trajectories(tmp_path/'requests', tmp_path/'out', planner='finetuned', planner_port=9,
                              llm='openai:m', base_url=f'{fault_server.url}/v1', progress=False)


def test_tool_refusals_are_counted_in_the_run_record(fault_server, tmp_path):
    write_requests(tmp_path/'requests', ['Email the weather in Oslo to my boss.'])
    prompted = lambda task, tool: json.dumps({'user_request': 'u', 'missing_information_or_action': 'm', **plan(task, tool)})
    plans = iter([prompted('Send the weather', 'send_email'), json.dumps({'to': '', 'subject': 'Weather', 'body': 'Oslo weather'}),
                  prompted('Find the weather in Oslo', 'search_internet'), 'Oslo: 4 degrees and rain.',
                  prompted('Answer', 'final_answer'), 'It is 4 degrees and raining in Oslo.'])
    fault_server.responder = lambda path, body: next(plans)
    generate_trajectories(tmp_path/'requests', tmp_path/'out', llm='openai:m', base_url=f'{fault_server.url}/v1', seed=1,
                          p_no_answer=0, p_partial_answer=0, progress=False, hints=True)
    record = json.loads((tmp_path/'out'/'meta'/'run.json').read_text())
    use = record['tool_use']
    assert record['hints'] is True  # a run made with privileged hints says so
    assert use['send_email'] == {'calls': 1, 'refused': 1, 'refusal_rate': 1.0}
    assert use['search_internet'] == {'calls': 1, 'refused': 0, 'refusal_rate': 0.0}
    meta = json.loads((tmp_path/'out'/'meta'/'1_0.json').read_text())
    assert [s['refused'] for s in meta['steps']] == [True, False, False]


def write_rated_run(directory, n_requests):
    write_requests(directory/'requests', [f'Request number {i}' for i in range(n_requests)])
    for name in ('trajectories', 'evaluations'): (directory/name).mkdir()
    for i in range(n_requests):
        steps = [{'plan': {'user_request': 'u', 'missing_information_or_action': 'm', **plan(f'task {i}.{k}', tool)},
                  'result': f'result {i}.{k}'} for k, tool in enumerate(['search_internet', 'final_answer'])]
        (directory/'trajectories'/f'1_{i}.json').write_text(json.dumps(steps))
        (directory/'evaluations'/f'1_{i}.json').write_text(json.dumps({'steps': [], 'final_answer_rating': 5,
                                                                       'explanation': ''}))


def test_packaged_dataset_opens_with_the_original_trainers_loader(tmp_path):
    write_rated_run(tmp_path, 5)
    out = tmp_path/'dataset'
    counts = package_dataset(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', out, validation_size=2)
    dataset = DatasetDict.load_from_disk(str(out))  # exactly what the original's trainer calls on --dataset_dir
    assert set(dataset) == {'train', 'test'}
    for split in dataset.values():
        assert split.column_names == ['prompt', 'target', 'text']
        for row in split: assert row['text'] == f"<s>[INST] {row['prompt']} [/INST] {row['target']}</s>"
    assert (dataset['train'].num_rows, dataset['test'].num_rows) == (6, 4)  # 3 and 2 requests of 2 steps each
    first = dataset['train'][0]
    assert first['prompt'].startswith('User request:\n\n```\nRequest number ') and '<no previous steps available>' in first['prompt']
    assert list(json.loads(first['target'])) == ['context_information_summary', 'thoughts', 'task', 'selected_tool']
    # split by request: no request on both sides, and the metadata says how many examples each side got
    metadata = [json.loads(line) for line in (out/'metadata.jsonl').read_text().splitlines()]
    sides = {}
    for row in metadata: sides.setdefault(row['request_id'], set()).add(row['split'])
    assert all(len(s) == 1 for s in sides.values())
    record = json.loads((out/'agentsim.json').read_text())
    assert record['prompt_format'] == 'original' and record['hf_splits'] == {'train': 'train', 'validation': 'test'}
    assert (record['counts']['train_examples'], record['counts']['validation_examples']) == (6, 4) == (
        counts['train_examples'], counts['validation_examples'])
    assert (out/'train.csv').read_text().startswith('text\n') and (out/'validation.jsonl').exists()


def test_repackaging_replaces_the_dataset_and_the_layout_is_recorded(tmp_path):
    write_rated_run(tmp_path, 3)
    out = tmp_path/'dataset'
    package_dataset(*(str(tmp_path/n) for n in ('requests', 'trajectories', 'evaluations')), out, 1)
    package_dataset(*(str(tmp_path/n) for n in ('requests', 'trajectories', 'evaluations')), out, 1,
                    prompt_format='agentsim')
    dataset = DatasetDict.load_from_disk(str(out))
    assert dataset['train'][0]['prompt'].startswith('User request:\nRequest number ')
    assert json.loads((out/'agentsim.json').read_text())['prompt_format'] == 'agentsim'
    assert not [p for p in out.iterdir() if p.name.startswith('.hf-')]  # no staging directory left behind


def singles(prefix, n):
    return json.dumps({'requests': [{'request': f'{prefix} question {i}?', 'topic': 't'} for i in range(n)]})


def test_an_over_delivering_generator_loses_nothing(fault_server, tmp_path):
    fault_server.script(('ok', singles('a', 6)))  # asked for 4, answers 6
    counts = requests_single(tmp_path, num_requests=4, llm='openai:m', base_url=f'{fault_server.url}/v1')
    assert counts['written'] == 1 and counts['dropped'] == {'more than asked for': 2} and fault_server.count == 1
    assert '```json' in (tmp_path/'0.txt').read_text() and (tmp_path/'0.txt').read_text().count('a question') == 4
    schema = fault_server.requests[0]['body']['response_format']['json_schema']['schema']['properties']['requests']
    assert (schema['minItems'], schema['maxItems']) == (4, 4)  # a constrained decoder is told the count


def test_an_under_delivering_generator_is_asked_only_for_the_rest(fault_server, tmp_path):
    fault_server.script(('ok', singles('a', 2)), ('ok', singles('b', 3)))  # asked for 4: 2, then 3 for the missing 2
    counts = requests_single(tmp_path, num_requests=4, llm='openai:m', base_url=f'{fault_server.url}/v1')
    assert counts['written'] == 1 and counts['dropped'] == {'more than asked for': 1} and fault_server.count == 2
    second = fault_server.requests[1]['body']['messages'][-1]['content']
    assert second.startswith('Write 2 different requests')
    text = (tmp_path/'0.txt').read_text()
    assert ['a question 0?', 'a question 1?', 'b question 0?', 'b question 1?'] == [
        r['request'] for r in json.loads(text.split('```json\n')[1].split('```')[0])['requests']]


def test_a_judge_that_rates_too_many_steps_loses_nothing(fault_server, tmp_path):
    write_rated_run(tmp_path, 1)
    rating = {'explanation': 'fine', 'task_rating': 4, 'tool_rating': 5, 'result_rating': 3}
    fault_server.script(('ok', json.dumps({'steps': [rating] * 3, 'explanation': 'ok', 'final_answer_rating': 5})))
    counts = evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'ratings', llm='openai:m', judge_method='single',
                                   base_url=f'{fault_server.url}/v1', progress=False)
    saved = json.loads((tmp_path/'ratings'/'1_0.json').read_text())
    assert counts['failed'] == 0 and len(saved['steps']) == 1 and fault_server.count == 1
