"""The whole pipeline over 100+ requests with 20% injected faults, then again with faults off.

Every request must end done or listed in its stage's failures file, no file may be half-written, and the rerun must
complete exactly what is missing without changing anything already finished."""
import itertools, json, threading
from pathlib import Path
import pytest
from fault_server import FaultServer
from agentsim.evaluate import evaluate_trajectories
from agentsim.formats import load_requests
from agentsim.generate import requests_multi, requests_single
from agentsim.package import package_dataset
from agentsim.trajectories import generate_trajectories

UNIVERSAL = json.dumps({  # a valid plan for every planner and a valid rating of a one-step trajectory
    'user_request': 'u', 'context_information_summary': 'c', 'missing_information_or_action': 'm', 'thoughts': 't',
    'task': 'answer the user', 'selected_tool': 'final_answer', 'selected_action': 'final_answer', 'steps': [],
    'explanation': 'fine', 'final_answer_rating': 5})


def responder():
    counter, lock = itertools.count(), threading.Lock()
    def answer(path, body):
        schema = (body.get('response_format') or {}).get('json_schema', {}).get('schema', {})
        if 'requests' not in schema.get('properties', {}): return UNIVERSAL
        with lock: n = next(counter)
        if 'topic' in schema.get('required', []):
            return json.dumps({'topic': 'Travel', 'requests': [{'request': f'Batch answer {n} request {i}',
                                                                 'explanation': 'steps'} for i in range(6)]})
        return json.dumps({'requests': [{'request': f'Simple answer {n} question {i}?', 'topic': 't'} for i in range(5)]})
    return answer


def run_pipeline(out: Path, url: str):
    model = dict(llm='openai:m', base_url=f'{url}/v1')
    requests_single(out/'requests', num_requests=5, **model)
    requests_multi(out/'requests', num_batches=17, num_workers=4, progress=False, **model)
    # the fine-tuned planner talks to the native /completion API, the tools and the judge to the OpenAI-compatible one
    generate_trajectories(out/'requests', out/'trajectories', planner='finetuned', planner_host='127.0.0.1',
                          planner_port=int(url.rsplit(':', 1)[1]), direct_answer='simple', num_workers=4, seed=1,
                          max_steps=3, progress=False, **model)
    evaluate_trajectories(out/'requests', out/'trajectories', out/'evaluations', num_workers=4, progress=False,
                          judge_method='single', **model)  # the scripted server answers the one-call judge
    return package_dataset(out/'requests', out/'trajectories', out/'evaluations', out/'dataset', validation_size=5)


def snapshot(out: Path) -> dict:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob('*') if p.is_file()}


def failed_ids(directory: Path) -> set:
    path = directory/'meta'/'failures.json'
    return {f['id'] for f in json.loads(path.read_text())} if path.exists() else set()


def test_pipeline_with_faults_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', str(tmp_path/'cache.sqlite'))
    monkeypatch.setenv('AGENTSIM_RETRIES', '1')
    monkeypatch.setenv('AGENTSIM_BACKOFF', '0.01')
    monkeypatch.setenv('AGENTSIM_TIMEOUT', '1')
    out = tmp_path/'out'
    with FaultServer(fault_rate=0.2, seed=7, responder=responder()) as server:
        run_pipeline(out, server.url)
        faulty_requests, injected = server.count, sum(server.injected.values())
        server.fault_rate = 0.0
        first = snapshot(out)
        # every file that exists is complete: no temporary files, every JSON parses
        assert not [name for name in first if name.endswith('.tmp')]
        for name, data in first.items():
            if name.endswith('.json'): json.loads(data)
        requests = load_requests(out/'requests')
        batch_failures = failed_ids(out/'requests')
        assert len(requests) + 6 * len(batch_failures) >= 100 - 5
        ids = {r.id for r in requests}
        done = {p.stem for p in (out/'trajectories').glob('*_*.json')}
        assert done | failed_ids(out/'trajectories') == ids and not done & failed_ids(out/'trajectories')
        rated = {p.stem for p in (out/'evaluations').glob('*_*.json')}
        nonempty = {i for i in done if json.loads((out/'trajectories'/f'{i}.json').read_text())}
        assert rated | failed_ids(out/'evaluations') == nonempty
        assert injected > 50 and (failed_ids(out/'trajectories') or failed_ids(out/'evaluations') or batch_failures)

        run_pipeline(out, server.url)  # faults off: completes what is missing
        second = snapshot(out)
    changed = [name for name, data in first.items() if second.get(name) != data and 'failures.json' not in name
               and not name.endswith(('run.json', 'generation.json')) and not name.startswith('dataset/')]
    assert changed == []  # nothing finished was rewritten
    requests = load_requests(out/'requests')
    assert len(requests) == 5 + 17 * 6
    assert {p.stem for p in (out/'trajectories').glob('*_*.json')} == {r.id for r in requests}
    assert not failed_ids(out/'requests') and not failed_ids(out/'trajectories') and not failed_ids(out/'evaluations')
    native = sum(r['path'] == '/completion' for r in server.requests)
    assert native > 50  # the native API was exercised under faults too
    print(f'\nfault run: {faulty_requests} model requests ({native} native in both runs), {injected} faults injected ({dict(server.injected)}), '
          f'{len(batch_failures)} batches failed first; rerun completed everything')


def run_command(args, env):
    import subprocess
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    """Kill trajectories and rating runs with SIGKILL several times: no partial file, a readable cache, and the
    resumed outputs equal an uninterrupted run's."""
    import os, random, signal, subprocess, time
    from agentsim.cache import ReplyCache
    requests = tmp_path/'requests'
    requests.mkdir()
    for b in range(1, 6):
        (requests/f'{b}.txt').write_text('```json\n' + json.dumps({'topic': 'T', 'requests': [
            {'request': f'Request {b}-{i}', 'explanation': '-'} for i in range(6)]}) + '\n```')
    rng, kills = random.Random(3), 0
    with FaultServer(responder=responder()) as server:
        server.delay = 0.1  # a run lasts a few seconds: long enough for every kill to land mid-run
        def env(cache): return {**os.environ, 'AGENTSIM_CACHE': str(cache)}
        def trajectories(out, cache):
            return ['agentsim_trajectories', f'--requests_dir={requests}', f'--output_dir={out}', '--llm=openai:m',
                    f'--base_url={server.url}/v1', '--seed=1', '--num_workers=3']
        def ratings(out, cache):
            return ['agentsim_evaluate', f'--requests_dir={requests}', f'--trajectories_dir={out}',
                    f'--output_dir={out}_evaluations', '--llm=openai:m', f'--base_url={server.url}/v1', '--num_workers=3',
                    '--judge_method=single']
        answers_before = 0
        for make in (trajectories, ratings):
            subprocess.run(make(tmp_path/'reference', tmp_path/'ref.sqlite'), env=env(tmp_path/'ref.sqlite'), check=True,
                           capture_output=True)
            for _ in range(3):
                process = run_command(make(tmp_path/'killed', tmp_path/'killed.sqlite'), env(tmp_path/'killed.sqlite'))
                time.sleep(rng.uniform(0.3, 1.2))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
                process.wait()
                cache = ReplyCache(tmp_path/'killed.sqlite')  # the cache opens and reads after every kill
                answers = len(cache)
                cache.close()
                assert answers >= answers_before  # and no kill lost an answer already stored
                answers_before = answers
                # a write cut by the kill can only leave a hidden temporary file, never a file under a final name
                assert all(p.name.startswith('.') for p in tmp_path.rglob('*.tmp'))
                for path in tmp_path.rglob('*_*.json'): json.loads(path.read_text())  # nothing half-written
            subprocess.run(make(tmp_path/'killed', tmp_path/'killed.sqlite'), env=env(tmp_path/'killed.sqlite'), check=True,
                           capture_output=True)
    assert kills >= 3
    for a, b in (('reference', 'killed'), ('reference_evaluations', 'killed_evaluations')):
        reference = {p.name: p.read_bytes() for p in (tmp_path/a).glob('*_*.json')}
        resumed = {p.name: p.read_bytes() for p in (tmp_path/b).glob('*_*.json')}
        assert len(reference) == 30 and resumed == reference
    print(f'\nsurvived {kills} SIGKILLs')


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path):
    import os, signal, subprocess, time
    requests = tmp_path/'requests'
    requests.mkdir()
    for b in range(1, 5):
        (requests/f'{b}.txt').write_text('```json\n' + json.dumps({'topic': 'T', 'requests': [
            {'request': f'Request {b}-{i}', 'explanation': '-'} for i in range(6)]}) + '\n```')
    with FaultServer(json.dumps({'user_request': 'u', 'context_information_summary': 'c',
                                 'missing_information_or_action': 'm', 'thoughts': 't', 'task': 'look it up',
                                 'selected_tool': 'search_internet'})) as server:
        server.delay = 0.03  # every request searches until max_steps: slow enough to interrupt
        process = subprocess.Popen(['agentsim_trajectories', f'--requests_dir={requests}', f'--output_dir={tmp_path/"out"}',
                                    '--llm=openai:m', f'--base_url={server.url}/v1', '--num_workers=2', '--seed=1'],
                                   stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                   env={**os.environ, 'AGENTSIM_CACHE': 'off'},
                                   # a child of a background shell inherits SIGINT ignored: give it Ctrl-C back
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        while not list((tmp_path/'out').glob('*_*.json')) and process.poll() is None: time.sleep(0.1)
        time.sleep(0.5)
        start = time.monotonic()
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=60)[1]
        stopped_in = time.monotonic() - start
    assert process.returncode == 130 and stopped_in < 5, stderr
    assert 'interrupted: finished trajectories are saved' in stderr and 'trajectories: ' in stderr
    saved = list((tmp_path/'out').glob('*_*.json'))
    assert 0 < len(saved) < 24 and all(json.loads(p.read_text()) == [] for p in saved)  # not finished in 10 steps: []
    assert 'Traceback' not in stderr
    failures = tmp_path/'out'/'meta'/'failures.json'  # nothing is written after the signal: it may not exist
    interrupted = [f for f in json.loads(failures.read_text()) if 'interrupted' in f['reason']] if failures.exists() else []
    assert len(interrupted) <= 2  # the ones running when Ctrl-C came; never saved half-done
