"The agent loop, planners, tools and agentsim_trajectories, driven by a scripted model or a fault server."
import json, os, subprocess
from pathlib import Path
import pytest
from scripted import ScriptedBackend, plan
from agentsim.agent import run_agent
from agentsim.core import AgentsimError
from agentsim.formats import Request, load_requests
from agentsim.llm import LLM, RetryPolicy
from agentsim.planners import make_planner, finetuned_prompt
from agentsim.tools import CONDITION_NOTES, Tool, Toolbox, draw_condition
from agentsim.trajectories import generate_trajectories

REQUEST = Request('3_1', 'Find the population of Lyon.')


def scripted(plans, tool_text='a result', max_reasks=2):
    backend = ScriptedBackend(plans, tool_text)
    return LLM(backend, max_reasks=max_reasks, retry=RetryPolicy(retries=0)), backend


@pytest.mark.parametrize('kind', ['openai', 'finetuned', 'zeroshot'])
def test_loop_stops_at_final_answer(kind):
    llm, backend = scripted([plan('search_wikipedia', 'Population of Lyon'), plan('final_answer', 'Answer')], 'Lyon: 520,000')
    result = run_agent(REQUEST, make_planner(kind, llm), llm, seed=0, p_none=0, p_partial=0)
    assert result.finished and result.failure is None
    assert [s['plan']['selected_tool'] for s in result.trajectory] == ['search_wikipedia', 'final_answer']
    assert all(set(s) == {'plan', 'result'} and s['result'] == 'Lyon: 520,000' for s in result.trajectory)
    keys = set(result.trajectory[0]['plan'])
    expected = {'context_information_summary', 'thoughts', 'task', 'selected_tool'}
    if kind == 'openai': expected |= {'user_request', 'missing_information_or_action'}
    assert keys == expected


def test_unfinished_request_is_saved_as_empty_list():
    llm, _ = scripted([plan('calculate_number')] * 5)
    result = run_agent(REQUEST, make_planner('openai', llm), llm, max_steps=3)
    assert not result.finished and result.failure is None and len(result.steps) == 3 and result.trajectory == []


def test_unknown_tool_fails_the_trajectory_with_reason():
    llm, backend = scripted([plan('teleport')] * 3, max_reasks=2)
    result = run_agent(REQUEST, make_planner('openai', llm), llm)
    assert result.failure and 'teleport' in result.failure and 'selected_tool' in result.failure
    assert result.trajectory == [] and len(backend.calls) == 3  # asked again twice, then given up


def test_planner_prompts_differ_as_in_the_original():
    llm, backend = scripted([plan('final_answer')] * 3)
    for kind in ('openai', 'finetuned', 'zeroshot'): make_planner(kind, llm).plan('Find X.', [])
    prompted, finetuned, zeroshot = [c['messages'] for c in backend.calls]
    assert prompted[0]['role'] == 'system' and 'search_internet:' in prompted[0]['content']
    assert finetuned == [{'role': 'user', 'content': finetuned_prompt('Find X.', [])}]
    assert 'search_internet' not in finetuned[0]['content']  # the tools were learned
    assert 'selected_action' in zeroshot[0]['content'] and 'search_internet:' in zeroshot[0]['content']
    assert backend.calls[2]['schema']['properties']['selected_action']['enum'][0] == 'search_internet'


def test_direct_answer_allows_only_final_answer():
    llm, backend = scripted([plan('final_answer')])
    result = run_agent(Request('0_4', 'What is 2+2?'), make_planner('openai', llm), llm, direct=True)
    assert len(result.trajectory) == 1
    assert backend.calls[0]['schema']['properties']['selected_tool']['enum'] == ['final_answer']


def test_search_conditions_are_seeded_and_recorded():
    conditions = {}
    for seed in (1, 2):
        for kind in ('openai', 'zeroshot'):
            llm, backend = scripted([plan('search_internet')] * 9 + [plan('final_answer')])
            result = run_agent(REQUEST, make_planner(kind, llm), llm, seed=seed, p_none=0.3, p_partial=0.3)
            conditions[seed, kind] = [m['condition'] for m in result.step_meta]
            tool_systems = [c['messages'][0]['content'] for c in backend.calls if c['schema'] is None]
            told = [next((name for name, note in CONDITION_NOTES.items() if note in s), 'full') for s in tool_systems]
            assert told[:9] == conditions[seed, kind][:9]  # each search was told the condition drawn for its step
    assert conditions[1, 'openai'] == conditions[1, 'zeroshot']  # same seed: the same failures for every planner
    assert conditions[1, 'openai'] != conditions[2, 'openai']
    assert conditions[1, 'openai'][:9] == [draw_condition(1, REQUEST.id, s, 0.3, 0.3) for s in range(1, 10)]
    assert conditions[1, 'openai'][9] is None  # final_answer is not a search


def test_partial_condition_changes_the_tool_prompt():
    llm, backend = scripted([plan('search_internet'), plan('final_answer')])
    run_agent(REQUEST, make_planner('openai', llm), llm, p_none=0, p_partial=1)
    tool_system = [c for c in backend.calls if c['schema'] is None][0]['messages'][0]['content']
    assert 'only part of the information' in tool_system


def test_custom_tool_joins_list_schema_and_loop():
    weather = Tool('get_weather', 'Tell the weather forecast for a place and day.', 'Pretend to be a weather service.')
    toolbox = Toolbox().add(weather)
    llm, backend = scripted([plan('get_weather', 'Weather in Lyon on 2026-12-01'), plan('final_answer')], 'Sunny, 8 C')
    result = run_agent(REQUEST, make_planner('openai', llm, toolbox), llm)
    assert result.finished and result.steps[0]['result'] == 'Sunny, 8 C'
    assert 'get_weather: Tell the weather' in backend.calls[0]['messages'][0]['content']
    assert 'get_weather' in backend.calls[0]['schema']['properties']['selected_tool']['enum']
    assert 'Pretend to be a weather service.' in backend.calls[1]['messages'][0]['content']


def test_use_bash_never_executes(tmp_path):
    victim = tmp_path/'victim'
    victim.mkdir()
    (victim/'keep.txt').write_text('still here')
    before = sorted(os.listdir(victim))
    llm, _ = scripted([plan('use_bash', f'rm -rf {victim}/*'), plan('final_answer')], f'removed {victim}/keep.txt')
    result = run_agent(Request('1_0', f'Delete all files in {victim}.'), make_planner('openai', llm), llm)
    assert result.finished and sorted(os.listdir(victim)) == before and (victim/'keep.txt').read_text() == 'still here'


# --- agentsim_trajectories ----------------------------------------------------------------------------------------

def write_requests(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    (directory/'0.txt').write_text('```json\n' + json.dumps({'requests': [
        {'request': 'What is 2+2?', 'topic': 'math'}, {'request': 'Capital of Peru?', 'topic': 'geo'}]}) + '\n```')
    (directory/'1.txt').write_text('Here:\n```json\n' + json.dumps({'topic': 'Travel', 'requests': [
        {'request': f'Multi-step request {i}', 'explanation': 'two steps'} for i in range(3)]}) + '\n```')
    return directory


FINAL = json.dumps(plan('final_answer', 'Answer the user', selected_action='final_answer'))


def test_trajectories_command_with_each_planner_kind(fault_server, tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', str(tmp_path/'cache.sqlite'))
    fault_server.default_content = FINAL
    requests = write_requests(tmp_path/'requests')
    port = int(fault_server.url.rsplit(':', 1)[1])
    runs = {'openai': ['--llm', 'openai:m', '--base_url', f'{fault_server.url}/v1'],
            'finetuned': ['--planner', 'finetuned', '--planner_host', '127.0.0.1', '--planner_port', str(port),
                          '--llm', 'openai:m', '--base_url', f'{fault_server.url}/v1'],
            'zeroshot': ['--planner', 'zeroshot', '--planner_llm', 'openai:m', '--llm', 'openai:m',
                         '--base_url', f'{fault_server.url}/v1']}
    for kind, flags in runs.items():
        out = tmp_path/kind
        result = subprocess.run(['agentsim_trajectories', f'--requests_dir={requests}', f'--output_dir={out}',
                                 '--direct_answer=simple', '--num_workers=3', '--seed=5', *flags],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert '5 finished' in result.stderr, result.stderr
        assert sorted(p.stem for p in out.glob('*.json') if p.stem not in ('run', 'failures')) == \
            ['0_0', '0_1', '1_0', '1_1', '1_2']
        assert '5 finished' in result.stderr
        steps = json.loads((out/'1_2.json').read_text())
        assert steps[0]['plan']['selected_tool'] == 'final_answer' and isinstance(steps[0]['result'], str)
        meta = json.loads((out/'meta'/'1_2.json').read_text())
        assert meta['seed'] == 5 and meta['steps'][0]['tool'] == 'final_answer'
        assert json.loads((out/'meta'/'run.json').read_text())['planner'] == kind
        assert json.loads((out/'meta'/'failures.json').read_text()) == []
    native = [r for r in fault_server.requests if r['path'] == '/completion']
    assert native and native[0]['body']['prompt'].startswith('[INST] User request:')  # Mistral template, no tool list


def test_rerun_skips_done_and_records_failures(fault_server, tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    fault_server.default_content = FINAL
    requests = write_requests(tmp_path/'requests')
    out = tmp_path/'out'
    fault_server.script(*[('ok', 'not json')] * 3)  # the first request's planner answers badly three times
    summary = generate_trajectories(requests, out, llm='openai:m', base_url=f'{fault_server.url}/v1', seed=1,
                                    progress=False)
    assert summary['failed'] == 1 and summary['done'] == 4
    failures = json.loads((out/'meta'/'failures.json').read_text())
    assert failures[0]['id'] == '0_0' and 'no usable answer' in failures[0]['reason']
    assert not (out/'0_0.json').exists()
    before = {p.name: p.read_bytes() for p in out.glob('*.json')}
    summary = generate_trajectories(requests, out, llm='openai:m', base_url=f'{fault_server.url}/v1', progress=False)
    assert (summary['done'], summary['skipped'], summary['failed'], summary['seed']) == (1, 4, 0, 1)
    after = {p.name: p.read_bytes() for p in out.glob('*.json')}
    assert all(after[name] == data for name, data in before.items() if name not in ('failures.json', 'run.json'))  # records of the last invocation
    assert json.loads((out/'meta'/'failures.json').read_text()) == []


def test_unfinished_and_unreadable_request_files(fault_server, tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    fault_server.default_content = json.dumps(plan('calculate_number'))
    requests = write_requests(tmp_path/'requests')
    (requests/'2.txt').write_bytes(b'\xff\xfe not utf-8')
    summary = generate_trajectories(requests, tmp_path/'out', llm='openai:m', base_url=f'{fault_server.url}/v1',
                                    direct_answer='off', max_steps=2, seed=0, progress=False)
    assert summary['unfinished'] == 5 and summary['unreadable'] == 1
    assert [f['id'] for f in json.loads((tmp_path/'out'/'meta'/'failures.json').read_text())] == ['2.txt']
    assert json.loads((tmp_path/'out'/'1_0.json').read_text()) == []


@pytest.mark.parametrize('flags, message', [
    (['--planner', 'gpt'], "--planner 'gpt'"), (['--direct_answer', 'yes'], '--direct_answer'),
    (['--num_workers', '0'], '--num_workers'), (['--planner_port', '70000'], '--planner_port'),
    (['--max_steps', '-1'], '--max_steps'), (['--p_no_answer', '1.5'], '--p_no_answer'),
    (['--requests_dir', '/nonexistent'], '--requests_dir /nonexistent: no such directory'),
    (['--llm', 'nonsense'], "unknown model spec --llm 'nonsense'"),
    (['--tools_file', '/nonexistent.json'], '--tools_file /nonexistent.json'),
])
def test_trajectories_bad_flags(tmp_path, flags, message):
    requests = write_requests(tmp_path/'requests')
    result = subprocess.run(['agentsim_trajectories', '--requests_dir', str(requests), '--output_dir',
                             str(tmp_path/'out'), *flags], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr and 'Traceback' not in result.stderr, result.stderr


def test_hints_reach_a_teacher_but_never_a_student():
    request = Request('1_2', 'Find the height of Mont Blanc in feet.', explanation='search_wikipedia, calculate_number')
    for kind, shown in (('openai', True), ('zeroshot', True), ('finetuned', False)):
        llm, backend = scripted([plan('final_answer')])
        run_agent(request, make_planner(kind, llm), llm, hints=True)
        assert ('search_wikipedia, calculate_number' in backend.calls[0]['messages'][-1]['content']) == shown, kind
        llm, backend = scripted([plan('final_answer')])
        run_agent(request, make_planner(kind, llm), llm)  # off by default
        assert 'search_wikipedia, calculate_number' not in backend.calls[0]['messages'][-1]['content'], kind
