"agentsim_trajectories with real models: each planner kind against a real llama-server, and the embedded model."
import json, subprocess
from pathlib import Path
import pytest

pytestmark = pytest.mark.local_model  # every test here runs the embedded model or a llama-server

REQUESTS = {
    '0.txt': {'requests': [{'request': 'What is the boiling point of water in degrees Celsius?', 'topic': 'science'}]},
    '1.txt': {'topic': 'Geography', 'requests': [
        {'request': 'Find the population of Lyon.', 'explanation': 'search_wikipedia, then final_answer'}]},
}


@pytest.fixture
def requests_dir(tmp_path):
    directory = tmp_path/'requests'
    directory.mkdir()
    for name, data in REQUESTS.items(): (directory/name).write_text(f'```json\n{json.dumps(data)}\n```\n')
    return directory


def run_trajectories(requests_dir, out, *flags, cache='off'):
    result = subprocess.run(['agentsim_trajectories', f'--requests_dir={requests_dir}', f'--output_dir={out}',
                             '--direct_answer=simple', '--max_steps=2', '--num_workers=2', *flags],
                            capture_output=True, text=True, timeout=600, env={**__import__('os').environ,
                                                                              'AGENTSIM_CACHE': str(cache)})
    assert result.returncode == 0, result.stderr
    return result


def check_outputs(out: Path, planner_keys):
    direct = json.loads((out/'0_0.json').read_text())
    assert len(direct) == 1 and direct[0]['plan']['selected_tool'] == 'final_answer' and direct[0]['result'].strip()
    assert set(direct[0]['plan']) == planner_keys
    multi = json.loads((out/'1_0.json').read_text())
    meta = json.loads((out/'meta'/'1_0.json').read_text())
    assert isinstance(multi, list) and len(multi) <= 2 and len(meta['steps']) >= 1
    assert meta['finished'] == bool(multi)
    assert json.loads((out/'meta'/'failures.json').read_text()) == []
    return meta


SHORT_KEYS = {'context_information_summary', 'thoughts', 'task', 'selected_tool'}


def test_finetuned_planner_native_against_real_server(llama_server, requests_dir, tmp_path):
    port = llama_server.url.rsplit(':', 1)[1]
    run_trajectories(requests_dir, tmp_path/'ft', '--planner=finetuned', '--planner_host=127.0.0.1',
                     f'--planner_port={port}', '--planner_template=chatml', '--llm=openai:qwen',
                     f'--base_url={llama_server.url}/v1')
    check_outputs(tmp_path/'ft', SHORT_KEYS)


def test_zeroshot_planner_openai_compatible_against_real_server(llama_server, requests_dir, tmp_path):
    run_trajectories(requests_dir, tmp_path/'zs', '--planner=zeroshot', '--planner_llm=openai:qwen', '--llm=openai:qwen',
                     f'--base_url={llama_server.url}/v1')
    check_outputs(tmp_path/'zs', SHORT_KEYS)


def test_same_seed_same_conditions_with_a_real_model(llama_server, requests_dir, tmp_path):
    """The search condition at a step depends only on (seed, request, step), never on the model or thread timing.
    (Which tool the model picks can differ between runs: llama.cpp's batched decoding is not bit-reproducible.)"""
    from agentsim.tools import draw_condition
    flags = ['--planner=zeroshot', f'--planner_llm={llama_server.url}', '--planner_template=chatml',
             '--llm=openai:qwen', f'--base_url={llama_server.url}/v1', '--seed=3', '--p_no_answer=0.5',
             '--p_partial_answer=0.5']
    run_trajectories(requests_dir, tmp_path/'a', *flags)
    run_trajectories(requests_dir, tmp_path/'b', *flags)
    searched = 0
    for run in 'ab':
        meta = json.loads((tmp_path/run/'meta'/'1_0.json').read_text())
        for step in meta['steps']:
            expected = draw_condition(3, '1_0', step['step'], 0.5, 0.5) if step['tool'].startswith('search_') else None
            assert step['condition'] == expected
            searched += expected is not None
    assert searched > 0  # the model did search, so conditions were drawn and recorded


def test_embedded_model_runs_a_few_requests_and_replays(requests_dir, tmp_path):
    cache = tmp_path/'cache.sqlite'
    first = run_trajectories(requests_dir, tmp_path/'local', '--llm=local', '--seed=1', cache=cache)
    check_outputs(tmp_path/'local', SHORT_KEYS | {'user_request', 'missing_information_or_action'})
    assert '0 replayed from cache' in first.stderr.splitlines()[-1]
    for name in ('0_0.json', '1_0.json'): (tmp_path/'local'/name).unlink()
    second = run_trajectories(requests_dir, tmp_path/'local', '--llm=local', cache=cache)
    assert 'total: 0 calls' in second.stderr  # the rerun replays every answer from the cache
