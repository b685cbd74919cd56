"""Benchmark the embedded model on this machine and print the figures.

    python bench/embedded_model.py [--calls 5]

Prints: GGUF preparation time, llama-server start time, and for schema-constrained answers through each API (native
/completion and OpenAI-compatible /v1) the mean latency and completion tokens per second; agentsim's speed against
llama-server's own timings of the same request; calls per second at 1 and 4 workers with the slots `server_slots`
chooses; one multi-step trajectory (seconds per planner step, per tool call, in all) with the prompt tokens sent
against those the server evaluated (the rest it reused from its prompt cache); then `agentsim_check`'s latency cold
(the embedded server started by the call) and warm (the server already running). Uses no cache.
"""
import argparse, re, statistics, time
from concurrent.futures import ThreadPoolExecutor
import requests
from pydantic import BaseModel, Field
from agentsim.agent import run_agent
from agentsim.formats import Request
from agentsim.llm import LLM, LlamaCompletion, OpenAIChat, render_prompt, as_messages
from agentsim.check import check_model
from agentsim.local import LlamaServer, SLOT_CONTEXT, gguf_path, server_slots, stop_embedded_server
from agentsim.planners import make_planner


class Plan(BaseModel):
    thoughts: str = Field(max_length=300)
    task: str = Field(max_length=200)
    selected_tool: str = Field(max_length=30)


PROMPT = ('Plan the next step for this request: "Find the population of Lyon and email it to ana@example.com". '
          'Answer with thoughts, the task and the tool (search_internet, send_email or final_answer).')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=5, help='calls per API (default 5)')
    args = parser.parse_args()
    start = time.monotonic()
    model = gguf_path()
    print(f'GGUF ready (assembled or verified): {time.monotonic() - start:.2f} s  ({model})')
    start = time.monotonic()
    slots = server_slots()
    with LlamaServer(model, parallel=slots, context=slots * SLOT_CONTEXT, extra_args=['--metrics']) as server:
        print(f'llama-server healthy:               {time.monotonic() - start:.2f} s  ({slots} slots)')
        for name, backend in (('native /completion', LlamaCompletion(server.url, template='chatml')),
                              ('OpenAI-compatible /v1', OpenAIChat('local', base_url=f'{server.url}/v1'))):
            llm, seconds, tokens = LLM(backend, max_tokens=300), [], []
            for i in range(args.calls):
                reply = llm(PROMPT, schema=Plan, seed=i, sample=i)
                seconds.append(reply.seconds)
                tokens.append(reply.completion_tokens)
            rate = sum(tokens) / sum(seconds)
            print(f'{name:<22} mean latency {statistics.mean(seconds):.2f} s, {statistics.mean(tokens):.0f} completion '
                  f'tokens per answer, {rate:.1f} tokens/s (including prompt processing)')
        own_speed(server, args.calls)
        throughput(server)
        trajectory(server)
    stop_embedded_server()  # none should run here; stopping makes sure the first check starts one
    try:
        for label, spec in (('cold, server start included', 'local'), ('warm', 'local'), ('warm, native API', 'local:native')):
            result = check_model(spec)
            print(f'agentsim_check {label + ":":<29} {result["seconds"]:.2f} s')
    finally: stop_embedded_server()


def own_speed(server: LlamaServer, calls: int):
    "agentsim's tokens/s on the native API against llama-server's own timings of the identical request."
    llm = LLM(LlamaCompletion(server.url, template='chatml'), max_tokens=300)
    body = {'prompt': render_prompt(as_messages(PROMPT), 'chatml'), 'n_predict': 300, 'temperature': 0.0,
            'cache_prompt': True, 'stop': ['<|im_end|>'], 'json_schema': Plan.model_json_schema()}
    ours, theirs = [], []
    for i in range(calls):
        reply = llm(PROMPT, schema=Plan, seed=i, sample=i, temperature=0.0)
        ours.append(reply.completion_tokens / reply.seconds)
        timings = requests.post(f'{server.url}/completion', json={**body, 'seed': i}, timeout=300).json()['timings']
        theirs.append(timings['predicted_n'] / ((timings['prompt_ms'] + timings['predicted_ms']) / 1000))
    ratio = statistics.mean(ours) / statistics.mean(theirs)
    print(f'tokens/s through agentsim {statistics.mean(ours):.1f}, llama-server alone {statistics.mean(theirs):.1f} '
          f'(same request, its own timings): {ratio:.2f}   goal >= 0.95')


def throughput(server: LlamaServer, calls: int = 8):
    "Schema-constrained calls per second at 1 and 4 workers (continuous batching over the server's slots)."
    llm = LLM(OpenAIChat('local', base_url=f'{server.url}/v1'), max_tokens=300)
    for workers in (1, 4):
        start = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda i: llm(PROMPT, schema=Plan, seed=100 + i, sample=100 + i), range(calls)))
        seconds = time.monotonic() - start
        print(f'{workers} worker(s), {server.parallel} slots: {calls / seconds:.2f} calls/s ({calls} calls, {seconds:.1f} s)')


def prompt_tokens_evaluated(server: LlamaServer) -> int:
    "llama-server's count of prompt tokens it has evaluated (not taken from its prompt cache) so far."
    metrics = requests.get(f'{server.url}/metrics', timeout=10).text
    return int(float(re.search(r'^llamacpp:prompt_tokens_total (\S+)', metrics, re.M)[1]))


def trajectory(server: LlamaServer, max_steps: int = 4):
    "One multi-step trajectory: seconds per planner step and tool call, and prompt tokens sent against evaluated."
    llm = LLM(OpenAIChat('local', base_url=f'{server.url}/v1'))
    request = Request('1_0', 'Find the population of Lyon and the population of Marseille, then email the difference '
                             'to ana@example.com.')
    before, start = prompt_tokens_evaluated(server), time.monotonic()
    result = run_agent(request, make_planner('openai', llm), llm, seed=3, max_steps=max_steps)
    seconds, evaluated = time.monotonic() - start, prompt_tokens_evaluated(server) - before
    planner = [m['planner']['seconds'] for m in result.step_meta if m.get('planner')]
    tools = [m['tool_call']['seconds'] for m in result.step_meta if m.get('tool_call')]
    sent = sum(m[part]['prompt_tokens'] for m in result.step_meta for part in ('planner', 'tool_call') if m.get(part))
    print(f'trajectory: {len(result.steps)} steps in {seconds:.1f} s; planner step {statistics.mean(planner):.2f} s, '
          f'tool call {statistics.mean(tools):.2f} s (mean)')
    print(f'prompt tokens sent {sent}, evaluated by the server {evaluated} ({evaluated / sent:.2f} of sent; '
          f'the rest reused from its prompt cache)   goal <= 0.50')


if __name__ == '__main__': main()
