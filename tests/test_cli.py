"""Console commands: bad input gives one line on stderr and a non-zero exit, never a traceback.

The error cases run in this process (the `command` fixture, in conftest.py); one subprocess per console script
checks that the installed command starts and shows its flags."""
import os, subprocess
from importlib.metadata import entry_points
import pytest

COMMANDS = sorted(e.name for e in entry_points(group='console_scripts') if e.value.startswith('agentsim.'))
# a few flags each command must show in --help: its own, and those it takes from the library function it wraps
FLAGS = {'agentsim_trajectories': ['--requests_dir', '--planner_port', '--seed', '--tools_file', '--hints', '--prompt_format'],
         'agentsim_runs': ['series_dir', '--runs', '--judge_llm', '--planner_port', '--tools_file', '--prompt_format'],
         'agentsim_evaluate': ['--trajectories_dir', '--num_workers', '--output_formatted_trajectories', '--sample'],
         'agentsim_requests_single': ['--output_dir', '--num_requests', '--seed'],
         'agentsim_requests_multi': ['--output_dir', '--num_batches', '--num_workers'],
         'agentsim_demo': ['--output_dir', '--num_batches', '--rating_threshold', '--no_cache'],
         'agentsim_check': ['--llm'], 'agentsim_package': ['--rating_threshold'], 'agentsim_stats': ['--ttest'],
         'agentsim_finetune': ['--completion_only'],
         'agentsim_study': ['--study_dir', '--teacher', '--student', '--judge', '--size', '--runs', '--eval_checkable'],
         'agentsim_requests_checkable': ['--output_dir', '--num_requests', '--seed', '--kinds', '--first_batch'],
         'agentsim_judge_check': ['--llm', '--labels', '--min_accuracy']}


def test_every_command_is_checked():
    assert set(COMMANDS) <= set(FLAGS) and set(FLAGS) - set(COMMANDS) <= {'agentsim_judge_check'}


@pytest.mark.parametrize('name', COMMANDS)
def test_console_script_starts_and_shows_its_flags(name):
    "The one subprocess per command: the installed script runs, and --help lists its flags with their help."
    result = subprocess.run([name, '--help'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith(f'usage: {name}'), result.stderr
    assert all(flag in result.stdout for flag in FLAGS[name]), result.stdout
    assert '--usage' not in result.stdout and '--progress' not in result.stdout  # library-only parameters stay hidden


def test_runs_has_no_flags_of_its_own_for_the_trajectories():
    "agentsim_runs takes every trajectories flag from generate_trajectories: same defaults, same help."
    from fastcore.script import anno_parser
    from agentsim.runs import agentsim_runs
    from agentsim.trajectories import agentsim_trajectories
    runs = {a.dest: (a.default, a.help) for a in anno_parser(agentsim_runs)._actions}
    trajectories = {a.dest: (a.default, a.help) for a in anno_parser(agentsim_trajectories)._actions}
    shared = set(runs) & set(trajectories) - {'help', 'requests_dir', 'pdb', 'xtra'}
    assert len(shared) == 17 and {k: runs[k] for k in shared} == {k: trajectories[k] for k in shared}
    assert 'seed' not in runs and 'hints' not in runs  # run i has seed i; hints have no place in an evaluation


@pytest.mark.parametrize('args, message', [
    (['--llm', 'gpt4'], "error: unknown model spec --llm 'gpt4'"),
    (['--llm', 'http://localhost:99999'], "error: --llm 'http://localhost:99999': not a valid server address"),
    (['--llm', 'http://127.0.0.1:9', '--template', 'vicuna'], "error: unknown --template 'vicuna'"),
    (['--llm', 'openai:m', '--base_url', 'http://127.0.0.1:9/v1', '--schema_mode', 'xml'],
     "error: --schema_mode must be json_schema or json_object"),
])
def test_check_rejects_bad_flags(command, args, message):
    result = command('agentsim_check', *args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_check_names_a_bad_spec_from_the_environment(command):
    result = command('agentsim_check', env={'AGENTSIM_LLM': 'nonsense'})
    assert result.returncode == 2 and result.stderr.startswith("error: unknown model spec AGENTSIM_LLM='nonsense'"), result.stderr


def test_check_help_lists_every_local_spec():
    result = subprocess.run(['agentsim_check', '--help'], capture_output=True, text=True, timeout=120)
    assert all(spec in result.stdout for spec in ('local:native', 'local:1.5b', 'local+lora:DIR', 'openai:<model>')), result.stdout


def test_check_without_openai_key(command, monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    monkeypatch.delenv('OPENAI_BASE_URL', raising=False)
    result = command('agentsim_check', '--llm', 'openai:gpt-4o')  # runs in an empty directory: no .env either
    assert result.returncode == 2 and 'OPENAI_API_KEY' in result.stderr and 'Traceback' not in result.stderr


def test_check_unreachable_server_is_one_line(command):
    from agentsim.local import free_port
    result = command('agentsim_check', '--llm', f'http://127.0.0.1:{free_port()}', '--timeout', '2')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'connection failed' in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_against_fault_server(fault_server):
    "A subprocess, as a user runs it: the answer and the tokens on stdout."
    result = subprocess.run(['agentsim_check', '--llm', 'openai:test', '--base_url', f'{fault_server.url}/v1'],
                            capture_output=True, text=True, timeout=120, env={**os.environ, 'AGENTSIM_CACHE': 'off'})
    assert result.returncode == 0, result.stderr
    assert "answer:  {'city': 'Paris', 'country': 'France'}" in result.stdout
    assert 'tokens:  11 prompt + 7 completion' in result.stdout
