"The LLM layer against a fault-injecting server: retries, re-asks, the cache, and keys that never leak."
import time
import pytest
from pydantic import BaseModel, Field
from agentsim.core import AgentsimError
from agentsim.llm import LLM, LLMAnswerError, LlamaCompletion, OpenAIChat, RetryPolicy, get_llm

FAST = RetryPolicy(retries=2, backoff=0.05, max_wait=2.0, timeout=2.0)
GOOD = '{"city": "Paris", "country": "France"}'


class City(BaseModel):
    city: str = Field(max_length=60)
    country: str = Field(max_length=60)


def openai_llm(server, cache=None, retry=FAST, **kwargs):
    return LLM(OpenAIChat('test-model', base_url=f'{server.url}/v1', timeout=retry.timeout), cache=cache, retry=retry, **kwargs)


def sdk_llm(server, cache=None, retry=FAST, **kwargs):
    "The openai SDK's path (what OpenAI itself gets), against the same server."
    return LLM(OpenAIChat('test-model', base_url=f'{server.url}/v1', timeout=retry.timeout, use_sdk=True), cache=cache,
               retry=retry, **kwargs)


def native_llm(server, cache=None, retry=FAST, **kwargs):
    return LLM(LlamaCompletion(server.url, template='mistral', timeout=retry.timeout), cache=cache, retry=retry, **kwargs)


BACKENDS = [openai_llm, sdk_llm, native_llm]


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_valid_answer_is_validated(fault_server, make_llm):
    reply = make_llm(fault_server)('capital of France?', schema=City)
    assert reply.value == City(city='Paris', country='France')
    assert (reply.prompt_tokens, reply.completion_tokens, reply.calls) == (11, 7, 1)


@pytest.mark.parametrize('make_llm', BACKENDS)
@pytest.mark.parametrize('fault', [('status', 500), ('status', 503), ('status', 429), ('drop',), ('garbage',),
                                   ('hang', 3.0)])
def test_transient_faults_are_retried(fault_server, make_llm, fault):
    fault_server.script(fault, fault)
    reply = make_llm(fault_server)('capital of France?', schema=City)
    assert reply.value.city == 'Paris'
    assert fault_server.count == 3


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_retry_after_is_honoured(fault_server, make_llm):
    fault_server.script(('status', 429, 1))
    start = time.monotonic()
    make_llm(fault_server)('capital of France?', schema=City)
    assert time.monotonic() - start >= 1.0
    assert fault_server.count == 2


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_retries_are_bounded(fault_server, make_llm):
    fault_server.script(*[('status', 500)] * 10)
    with pytest.raises(AgentsimError, match='gave up after 3 attempts'):
        make_llm(fault_server)('capital of France?', schema=City)
    assert fault_server.count == 3


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_client_errors_are_not_retried(fault_server, make_llm):
    fault_server.script(('status', 400))
    with pytest.raises(AgentsimError, match='HTTP 400'):
        make_llm(fault_server)('capital of France?', schema=City)
    assert fault_server.count == 1


@pytest.mark.parametrize('make_llm', BACKENDS)
@pytest.mark.parametrize('bad', [('ok', 'Paris is the capital.'), ('ok', '{"city": "Paris"}'),
                                 ('ok', '{"city": "Paris", "country": "'), ('cut', '{"city": "Paris", "country": "Fr'),
                                 ('ok', '')])
def test_unusable_answers_are_asked_again(fault_server, make_llm, bad):
    fault_server.script(bad)
    reply = make_llm(fault_server)('capital of France?', schema=City)
    assert reply.value.country == 'France' and reply.calls == 2
    second = fault_server.requests[1]['body']
    conversation = second.get('messages') or [{'content': second['prompt']}]
    assert 'cannot be used' in conversation[-1]['content']


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_reasks_are_bounded(fault_server, make_llm):
    fault_server.script(*[('ok', 'no json here')] * 5)
    with pytest.raises(LLMAnswerError, match='no usable answer in 3 tries'):
        make_llm(fault_server, max_reasks=2)('capital of France?', schema=City)
    assert fault_server.count == 3


def test_empty_free_text_is_asked_again(fault_server):
    fault_server.script(('ok', '   '), ('ok', 'Hello there.'))
    assert openai_llm(fault_server)('Say hello').text == 'Hello there.'


def test_dead_server_fails_in_bounded_time():
    from agentsim.local import free_port
    llm = LLM(LlamaCompletion(f'http://127.0.0.1:{free_port()}'), retry=RetryPolicy(retries=2, backoff=0.1, timeout=1))
    start = time.monotonic()
    with pytest.raises(AgentsimError, match='connection failed.*gave up after 3 attempts'):
        llm('hello')
    assert time.monotonic() - start < 5


@pytest.mark.parametrize('make_llm', BACKENDS)
def test_cache_replays_and_sample_index_separates(fault_server, make_llm, tmp_cache):
    llm = make_llm(fault_server, cache=tmp_cache)
    first = llm('capital of France?', schema=City, role='tool')
    second = llm('capital of France?', schema=City, role='tool')
    assert fault_server.count == 1 and second.cached and second.value == first.value and second.calls == 0
    third = llm('capital of France?', schema=City, role='tool', sample=1)
    assert fault_server.count == 2 and not third.cached
    assert llm.usage.roles['tool'].calls == 2 and llm.usage.roles['tool'].cached == 1


def test_cache_keys_depend_on_sampling_and_schema(fault_server, tmp_cache):
    llm = openai_llm(fault_server, cache=tmp_cache)
    llm('capital of France?', schema=City)
    llm('capital of France?', schema=City, seed=1)
    llm('capital of France?', schema=City, temperature=0.7)
    llm('capital of France?', schema=City, max_tokens=99)
    llm('capital of France?')
    assert fault_server.count == 5


def test_a_failed_question_is_not_cached(fault_server, tmp_cache):
    fault_server.script(*[('ok', 'no json')] * 3)
    llm = openai_llm(fault_server, cache=tmp_cache, max_reasks=2)
    with pytest.raises(LLMAnswerError): llm('capital of France?', schema=City)
    assert len(tmp_cache) == 0
    assert llm('capital of France?', schema=City).value.city == 'Paris'  # asked afresh, now answered
    assert len(tmp_cache) == 1


def test_reask_answer_is_cached_under_the_original_question(fault_server, tmp_cache):
    fault_server.script(('ok', 'not json'))
    llm = openai_llm(fault_server, cache=tmp_cache)
    llm('capital of France?', schema=City)
    assert llm('capital of France?', schema=City).cached and fault_server.count == 2


def test_api_key_never_reaches_the_cache(fault_server, tmp_path, monkeypatch):
    secret = 'sk-test-SECRET-0123456789abcdef'
    monkeypatch.setenv('OPENAI_API_KEY', secret)
    monkeypatch.setenv('AGENTSIM_CACHE', str(tmp_path/'cache.sqlite'))
    llm = get_llm('openai:test-model', base_url=f'{fault_server.url}/v1', retry=FAST)
    llm('capital of France?', schema=City)
    assert fault_server.requests[0]['headers']['authorization'] == f'Bearer {secret}'  # the key was really used
    llm.cache.close()
    stored = b''.join(p.read_bytes() for p in tmp_path.iterdir())
    assert stored and secret.encode() not in stored


def test_api_key_from_dotenv(fault_server, tmp_path, monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path/'.env').write_text('OPENAI_API_KEY=sk-from-dotenv\n')
    llm = get_llm('openai:test-model', base_url=f'{fault_server.url}/v1', cache=False, retry=FAST)
    llm('capital of France?', schema=City)
    assert fault_server.requests[0]['headers']['authorization'] == 'Bearer sk-from-dotenv'


def test_openai_without_key_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    monkeypatch.delenv('OPENAI_BASE_URL', raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AgentsimError, match='OPENAI_API_KEY'): get_llm('openai:gpt-4o')


@pytest.mark.parametrize('mode', ['json_schema', 'json_object'])
def test_schema_modes_send_the_schema(fault_server, mode):
    llm = LLM(OpenAIChat('m', base_url=f'{fault_server.url}/v1', schema_mode=mode), retry=FAST)
    llm('capital of France?', schema=City)
    response_format = fault_server.requests[0]['body']['response_format']
    assert response_format['type'] == mode
    schema = response_format['json_schema']['schema'] if mode == 'json_schema' else response_format['schema']
    assert schema['properties']['city']['maxLength'] == 60  # length bounds reach non-OpenAI servers
    body = fault_server.requests[0]['body']
    assert (body['temperature'], body['seed'], body['max_tokens']) == (0.0, 0, 1024)


def test_native_request_carries_prompt_schema_and_greedy_sampling(fault_server):
    native_llm(fault_server)('capital of France?', schema=City, system='Be brief.')
    body = fault_server.requests[0]['body']
    assert body['prompt'] == '[INST] Be brief.\n\ncapital of France? [/INST]'
    assert body['json_schema']['required'] == ['city', 'country'] and body['temperature'] == 0.0
    assert body['cache_prompt'] is True


def test_retry_policy_from_environment(monkeypatch):
    monkeypatch.setenv('AGENTSIM_RETRIES', '5')
    monkeypatch.setenv('AGENTSIM_TIMEOUT', '12.5')
    assert (RetryPolicy.from_env().retries, RetryPolicy.from_env().timeout) == (5, 12.5)
    monkeypatch.setenv('AGENTSIM_RETRIES', 'many')
    with pytest.raises(AgentsimError, match="AGENTSIM_RETRIES='many': not a number"): RetryPolicy.from_env()
    monkeypatch.setenv('AGENTSIM_RETRIES', '-1')
    with pytest.raises(AgentsimError, match='must be positive'): RetryPolicy.from_env()


def test_dead_server_stops_the_whole_run(tmp_path, command):
    "A refused connection after every retry stops the command with one line, instead of failing request after request."
    from agentsim.local import free_port
    requests = tmp_path/'requests'
    requests.mkdir()
    (requests/'1.txt').write_text('```json\n{"topic": "t", "requests": ' +
                                  str([{'request': f'r{i}', 'explanation': '-'} for i in range(6)]).replace("'", '"') + '}\n```')
    start = time.monotonic()
    result = command('agentsim_trajectories', f'--requests_dir={requests}', f'--output_dir={tmp_path/"out"}',
                     f'--llm=http://127.0.0.1:{free_port()}', '--num_workers=2',
                     env={'AGENTSIM_RETRIES': '2', 'AGENTSIM_BACKOFF': '0.1'})
    assert result.returncode == 2 and time.monotonic() - start < 30
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: llama.cpp server') and 'gave up after 3 attempts' in last and 'Traceback' not in result.stderr
