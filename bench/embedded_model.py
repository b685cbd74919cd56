"""Benchmark the embedded model on this machine and print the figures.

    python bench/embedded_model.py [--calls 5]

Prints: GGUF preparation time, llama-server start time, and for schema-constrained answers through each API (native
/completion and OpenAI-compatible /v1) the mean latency and completion tokens per second; then `agentsim_check`'s
latency cold (the embedded server started by the call) and warm (the server already running). Uses no cache.
"""
import argparse, statistics, time
from pydantic import BaseModel, Field
from agentsim.llm import LLM, LlamaCompletion, OpenAIChat
from agentsim.check import check_model
from agentsim.local import LlamaServer, gguf_path, stop_embedded_server


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
    with LlamaServer(model, parallel=2) as server:
        print(f'llama-server healthy:               {time.monotonic() - start:.2f} s')
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
    stop_embedded_server()  # none should run here; stopping makes sure the first check starts one
    try:
        for label, spec in (('cold, server start included', 'local'), ('warm', 'local'), ('warm, native API', 'local:native')):
            result = check_model(spec)
            print(f'agentsim_check {label + ":":<29} {result["seconds"]:.2f} s')
    finally: stop_embedded_server()


if __name__ == '__main__': main()
