"""Does speculative decoding make the 1.5B teacher faster here? The same schema-constrained planner and tool calls,
with and without the embedded 0.5B as llama-server's draft model (`--model-draft`), alternating, and the figures.

    python bench/speculative.py [--rounds 3] [--concurrency 2] [--output bench/results/speculative-concurrency-2.json]

Both servers serve Qwen2.5-Coder-1.5B-Instruct with 2 slots; one also drafts with Qwen2.5-Coder-0.5B-Instruct (the
same tokenizer family). Each round sends every prompt once to each server, in alternating order, so that load from
elsewhere on the machine falls on both; `--concurrency 2` keeps two calls in flight, as a study with 2 workers does
(then the draft model competes with the teacher for the same cores). Prints the wall seconds and completion tokens
per second of each, their ratio, and whether the answers are the same (greedy decoding: a draft model changes the
speed, never the text; llama.cpp's batching can still change an answer when two calls share a server). No replay
cache. `--output FILE` also writes the figures as JSON, with the date and the machine's load average.
"""
import argparse, datetime, json, os, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from pydantic import BaseModel, Field
from agentsim.llm import LLM, OpenAIChat
from agentsim.local import LlamaServer, embedded_gguf


class Plan(BaseModel):
    thoughts: str = Field(max_length=300)
    task: str = Field(max_length=200)
    selected_tool: str = Field(max_length=30)


PROMPTS = [
    ('planner', 'Plan the next step for the request "Find the population of Lyon and email it to ana@example.com". '
                'Results so far: none. Tools: search_internet, send_email, final_answer.'),
    ('planner', 'Plan the next step for the request "How many days are there between 3 March 2027 and 19 June 2027?". '
                'Results so far: none. Tools: calculate_number, search_internet, final_answer.'),
    ('tool', 'You play the tool search_internet. Task: find the opening hours of the Louvre on Sundays. Reply in one '
             'or two sentences with specific values.'),
    ('tool', 'You play the tool calculate_number. Task: total cost of 3 nights at 145 EUR per night plus 12% tax. '
             'Reply with the result and its unit.'),
]


def ask(llm: LLM, kind: str, prompt: str, index: int):
    start = time.monotonic()
    reply = llm(prompt, schema=Plan if kind == 'planner' else None, seed=index, max_tokens=300)
    return time.monotonic() - start, reply.completion_tokens, reply.text


def one_round(llm: LLM, concurrency: int) -> tuple[float, list]:
    "Every prompt once, `concurrency` at a time: the round's wall seconds and each call's (seconds, tokens, text)."
    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        calls = list(pool.map(lambda item: ask(llm, *item[1], item[0]), enumerate(PROMPTS)))
    return time.monotonic() - start, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3, help='rounds over the prompts (default 3)')
    parser.add_argument('--concurrency', type=int, default=1, help='calls in flight at once on a server (default 1)')
    parser.add_argument('--output', help='also write the figures to this JSON file')
    args = parser.parse_args()
    if args.rounds < 1 or args.concurrency < 1: parser.error('--rounds and --concurrency must be at least 1')
    if args.concurrency > 2: parser.error('--concurrency: the servers have 2 slots, so at most 2')
    if args.output: Path(args.output).parent.mkdir(parents=True, exist_ok=True)  # before the benchmark, not after it
    load_at_start = os.getloadavg()
    teacher, draft = embedded_gguf('local:1.5b'), embedded_gguf('local')
    plain = LlamaServer(teacher, parallel=2, context=8192, log_path='/tmp/agentsim-bench-plain.log')
    drafted = LlamaServer(teacher, parallel=2, context=8192, log_path='/tmp/agentsim-bench-draft.log',
                          extra_args=['--model-draft', str(draft), '--spec-draft-n-max', '8', '--spec-draft-n-min', '1'])
    wall, calls, rounds = {'plain': 0.0, 'draft': 0.0}, {'plain': [], 'draft': []}, {'plain': [], 'draft': []}
    with plain, drafted:
        llms = {'plain': LLM(OpenAIChat('local', base_url=f'{plain.url}/v1')),
                'draft': LLM(OpenAIChat('local', base_url=f'{drafted.url}/v1'))}
        for round_number in range(args.rounds):
            for name in ('plain', 'draft') if round_number % 2 == 0 else ('draft', 'plain'):
                seconds, measured = one_round(llms[name], args.concurrency)
                wall[name] += seconds
                rounds[name].append(round(seconds, 2))
                calls[name] += measured
    figures = {}
    for name in wall:
        tokens = sum(t for _, t, _ in calls[name])
        figures[name] = {'calls': len(calls[name]), 'wall_s': round(wall[name], 2), 'completion_tokens': tokens,
                         'tokens_per_s': round(tokens / wall[name], 2), 'round_wall_s': rounds[name]}
        print(f"{name:>5}: {len(calls[name])} calls, {wall[name]:.1f} s, {tokens / wall[name]:.1f} completion tokens/s")
    ratio = wall['plain'] / wall['draft']
    same = sum(a[2] == b[2] for a, b in zip(calls['plain'], calls['draft']))
    print(f'speed-up with the 0.5B draft: {ratio:.2f}x (wall time, plain / draft), {args.concurrency} in flight; '
          f'{same} of {len(calls["plain"])} answers identical')
    if args.output:
        record = {'command': 'python bench/speculative.py --rounds {} --concurrency {}'.format(args.rounds, args.concurrency),
                  'date': datetime.date.today().isoformat(), 'cores': os.cpu_count(),
                  'load_average': {'start': load_at_start, 'end': os.getloadavg()}, 'concurrency': args.concurrency,
                  'rounds': args.rounds, **figures, 'speed_up': round(ratio, 3), 'identical_answers': same}
        Path(args.output).write_text(json.dumps(record, indent=2) + '\n')


if __name__ == '__main__':
    main()
