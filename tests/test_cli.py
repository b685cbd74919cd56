"Console commands: bad input gives one line on stderr and a non-zero exit, never a traceback."
import subprocess
import pytest


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize('args, message', [
    (['--llm', 'gpt4'], "error: unknown model spec --llm 'gpt4'"),
    (['--llm', 'http://localhost:99999'], "error: --llm 'http://localhost:99999': not a valid server address"),
    (['--llm', 'http://127.0.0.1:9', '--template', 'vicuna'], "error: unknown --template 'vicuna'"),
    (['--llm', 'openai:m', '--base_url', 'http://127.0.0.1:9/v1', '--schema_mode', 'xml'],
     "error: --schema_mode must be json_schema or json_object"),
])
def test_check_rejects_bad_flags(args, message):
    result = run('agentsim_check', *args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_check_without_openai_key(tmp_path, monkeypatch):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ('OPENAI_API_KEY', 'OPENAI_BASE_URL')}
    result = subprocess.run(['agentsim_check', '--llm', 'openai:gpt-4o'], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=120)
    assert result.returncode == 2 and 'OPENAI_API_KEY' in result.stderr and 'Traceback' not in result.stderr


def test_check_unreachable_server_is_one_line():
    from agentsim.local import free_port
    result = run('agentsim_check', '--llm', f'http://127.0.0.1:{free_port()}', '--timeout', '2')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'connection failed' in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_against_fault_server(fault_server):
    result = run('agentsim_check', '--llm', 'openai:test', '--base_url', f'{fault_server.url}/v1')
    assert result.returncode == 0, result.stderr
    assert "answer:  {'city': 'Paris', 'country': 'France'}" in result.stdout
    assert 'tokens:  11 prompt + 7 completion' in result.stdout
