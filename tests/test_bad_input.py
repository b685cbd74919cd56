"""Bad input: one line naming the file or flag, non-zero exit when nothing can proceed, else the bad item is skipped.

The commands run in this process (the `command` fixture runs their console scripts with `sys.argv` set); the
subprocess smoke tests of the console scripts are in test_cli.py."""
import json
from pathlib import Path
import pytest
from agentsim.formats import load_requests

GOOD = '```json\n' + json.dumps({'topic': 'T', 'requests': [{'request': f'Request {i}', 'explanation': '-'}
                                                            for i in range(2)]}) + '\n```\n'


def one_error_line(result, message):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert lines and lines[-1].startswith('error: ') and message in lines[-1], result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('content, problem', [
    ('Sure, here you are!', 'no ```json block'),
    ('```json\n{"requests": [\n```', 'broken JSON'),
    ('```json\n{"items": []}\n```', 'no "requests" list'),
    ('```json\n[1, 2]\n```', 'no "requests" list'),
    ('```json\n{"requests": [{"text": "x"}]}\n```', 'request 0 has no "request" text'),
    ('```json\n{"requests": [{"request": "   "}]}\n```', 'request 0 has no "request" text'),
    ('```json\n{"requests": [{"request": "' + 'x' * 5000 + '"}]}\n```', 'request 0 is 5,000 characters long'),
])
def test_bad_requests_files_are_skipped_and_reported(tmp_path, content, problem):
    (tmp_path/'1.txt').write_text(GOOD)
    (tmp_path/'2.txt').write_text(content)
    loaded = load_requests(tmp_path)
    assert [r.id for r in loaded] == ['1_0', '1_1']
    assert len(loaded.problems) == 1 and loaded.problems[0].startswith(str(tmp_path/'2.txt')) and problem in loaded.problems[0]


def test_non_utf8_and_repeated_ids(tmp_path):
    (tmp_path/'1.txt').write_text(GOOD)
    (tmp_path/'01.txt').write_text(GOOD)  # stem 01 gives ids 01_0, 01_1: distinct, kept
    (tmp_path/'2.txt').write_bytes(b'```json\n{"requests": [{"request": "caf\xe9"}]}\n```')
    loaded = load_requests(tmp_path)
    assert len(loaded) == 4 and 'not UTF-8 text' in loaded.problems[0]


def test_a_bad_request_keeps_the_others_ids(tmp_path):
    (tmp_path/'3.txt').write_text('```json\n{"topic": "T", "requests": [{"request": "a"}, {"request": ""}, {"request": "c"}]}\n```')
    loaded = load_requests(tmp_path)
    assert [r.id for r in loaded] == ['3_0', '3_2'] and 'request 1 has no "request" text' in loaded.problems[0]


def test_bad_files_reach_the_user_as_lines(tmp_path, fault_server, command):
    requests = tmp_path/'requests'
    requests.mkdir()
    (requests/'1.txt').write_text(GOOD)
    (requests/'2.txt').write_text('no json')
    fault_server.default_content = json.dumps({'user_request': 'u', 'context_information_summary': 'c',
                                               'missing_information_or_action': 'm', 'thoughts': 't', 'task': 'x',
                                               'selected_tool': 'final_answer'})
    result = command('agentsim_trajectories', f'--requests_dir={requests}', f'--output_dir={tmp_path/"out"}',
                     '--llm=openai:m', f'--base_url={fault_server.url}/v1')
    assert result.returncode == 0 and f'skipped {requests/"2.txt"}: no ```json block' in result.stderr
    assert sorted(p.name for p in (tmp_path/'out').glob('*_*.json')) == ['1_0.json', '1_1.json']


@pytest.mark.parametrize('setup, args, message', [
    ('empty', ['agentsim_trajectories', '--requests_dir={d}'], 'no requests files (*.txt)'),
    ('none', ['agentsim_trajectories', '--requests_dir={d}/missing'], 'no such directory'),
    ('good', ['agentsim_trajectories', '--requests_dir={d}', '--output_dir={d}/1.txt/out'], '--output_dir'),
    ('good', ['agentsim_evaluate', '--requests_dir={d}', '--trajectories_dir={d}', '--output_dir={d}/1.txt/x'], '--output_dir'),
    ('good', ['agentsim_requests_multi', '--output_dir={d}/1.txt/x'], '--output_dir'),
    ('good', ['agentsim_trajectories', '--requests_dir={d}', '--planner_port=0'], '--planner_port'),
    ('good', ['agentsim_trajectories', '--requests_dir={d}', '--p_partial_answer=-0.1'], '--p_partial_answer'),
    ('good', ['agentsim_trajectories', '--requests_dir={d}', '--p_no_answer=0.6', '--p_partial_answer=0.6'],
     '--p_no_answer + --p_partial_answer'),
    ('good', ['agentsim_check', '--llm=openai:'], "unknown model spec --llm 'openai:'"),
    ('good', ['agentsim_check', '--llm=llamacpp:ftp://x'], "unknown model spec"),
    ('good', ['agentsim_runs', '{d}/series', '--requests_dir={d}', '--runs=0'], '--runs must be at least 1'),
    ('good', ['agentsim_stats', '{d}', '--threshold=6'], 'threshold'),
    ('good', ['agentsim_stats', '{d}/missing'], 'missing'),
    ('good', ['agentsim_trajectories', '--requests_dir={d}', '--planner=finetuned', '--prompt_format=alpaca'],
     "--prompt_format 'alpaca': choose original or agentsim"),
    ('good', ['agentsim_package', '--requests_dir={d}', '--trajectories_dir={d}', '--evaluations_dir={d}',
              '--output_dir={d}/ds', '--prompt_format=chatml'], "--prompt_format 'chatml'"),
    ('good', ['agentsim_runs', '{d}/series', '--requests_dir={d}', '--prompt_format=x'], "--prompt_format 'x'"),
])
def test_commands_reject_bad_input_with_one_line(tmp_path, command, setup, args, message):
    if setup == 'good': (tmp_path/'1.txt').write_text(GOOD)
    result = command(*[a.replace('{d}', str(tmp_path)) for a in args])
    one_error_line(result, message)


def test_unreadable_cache_is_one_line(tmp_path, command):
    (tmp_path/'1.txt').write_text(GOOD)
    broken = tmp_path/'cache.sqlite'
    broken.write_bytes(b'definitely not sqlite' * 200)
    result = command('agentsim_trajectories', f'--requests_dir={tmp_path}', f'--output_dir={tmp_path/"out"}',
                     '--llm=openai:m', '--base_url=http://127.0.0.1:9/v1', env={'AGENTSIM_CACHE': str(broken)})
    one_error_line(result, f'replay cache {broken} is not usable')


@pytest.mark.parametrize('content, message', [
    ('{"name": "x"}', 'expected a JSON list'), ('[{"name": "x"}]', 'needs "name", "description"'),
    ('[{"name": "Bad Name", "description": "d", "instructions": "i"}]', 'lowercase'),
    ('[{"name": "send_email", "description": "d", "instructions": "i"}]', 'defined twice'), ('not json', '--tools_file'),
])
@pytest.mark.parametrize('name', ['agentsim_trajectories', 'agentsim_runs'])
def test_bad_tools_file(tmp_path, command, name, content, message):
    (tmp_path/'1.txt').write_text(GOOD)
    tools = tmp_path/'tools.json'
    tools.write_text(content)
    where = [f'--output_dir={tmp_path/"out"}'] if name == 'agentsim_trajectories' else [str(tmp_path/'series')]
    result = command(name, f'--requests_dir={tmp_path}', *where, f'--tools_file={tools}', '--llm=openai:m',
                     '--base_url=http://127.0.0.1:9/v1')
    one_error_line(result, message)


def test_bad_environment_settings(tmp_path, command):
    (tmp_path/'1.txt').write_text(GOOD)
    result = command('agentsim_trajectories', f'--requests_dir={tmp_path}', f'--output_dir={tmp_path/"out"}',
                     '--llm=openai:m', '--base_url=http://127.0.0.1:9/v1', env={'AGENTSIM_TIMEOUT': 'soon'})
    one_error_line(result, "AGENTSIM_TIMEOUT='soon': not a number")
    result = command('agentsim_check', env={'AGENTSIM_GGUF': str(tmp_path/'none.gguf')})
    one_error_line(result, 'AGENTSIM_GGUF=')


@pytest.mark.parametrize('name', ['agentsim_requests_single', 'agentsim_requests_multi'])
def test_generation_with_a_dead_server_stops_with_one_line(tmp_path, command, name):
    from agentsim.local import free_port
    result = command(name, f'--output_dir={tmp_path/"requests"}', f'--llm=http://127.0.0.1:{free_port()}',
                 env={'AGENTSIM_RETRIES': '1', 'AGENTSIM_BACKOFF': '0.05'})
    one_error_line(result, 'connection failed')
    assert not (tmp_path/'requests'/'meta'/'failures.json').exists() or json.loads((tmp_path/'requests'/'meta'/'failures.json').read_text()) == []
