"""Does speculative decoding make the 1.5B teacher faster here? The same schema-constrained planner and tool calls,
with and without the embedded 0.5B as llama-server's draft model (`--model-draft`), interleaved, and the figures.

    python bench/speculative.py [--rounds 3]

Both servers serve Qwen2.5-Coder-1.5B-Instruct with 2 slots; one also drafts with Qwen2.5-Coder-0.5B-Instruct (the
same tokenizer family). Each round sends every prompt once to each server, in alternating order, so that load from
elsewhere on the machine falls on both. Prints the wall seconds and completion tokens per second of each, their
ratio, and whether the answers are the same (greedy decoding: a draft model changes the speed, never the text).
No replay cache.
"""
import argparse, statistics, time
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3, help='rounds over the prompts (default 3)')
    args = parser.parse_args()
    teacher, draft = embedded_gguf('local:1.5b'), embedded_gguf('local')
    plain = LlamaServer(teacher, parallel=2, context=8192, log_path='/tmp/agentsim-bench-plain.log')
    drafted = LlamaServer(teacher, parallel=2, context=8192, log_path='/tmp/agentsim-bench-draft.log',
                          extra_args=['--model-draft', str(draft), '--spec-draft-n-max', '8', '--spec-draft-n-min', '1'])
    results = {'plain': [], 'draft': []}
    texts = {'plain': [], 'draft': []}
    with plain, drafted:
        llms = {'plain': LLM(OpenAIChat('local', base_url=f'{plain.url}/v1')),
                'draft': LLM(OpenAIChat('local', base_url=f'{drafted.url}/v1'))}
        for round_number in range(args.rounds):
            order = ('plain', 'draft') if round_number % 2 == 0 else ('draft', 'plain')
            for index, (kind, prompt) in enumerate(PROMPTS):
                for name in order:
                    seconds, tokens, text = ask(llms[name], kind, prompt, index)
                    results[name].append((seconds, tokens))
                    texts[name].append(text)
    for name, measured in results.items():
        seconds, tokens = sum(s for s, _ in measured), sum(t for _, t in measured)
        print(f'{name:>5}: {len(measured)} calls, {seconds:.1f} s, {statistics.mean(s for s, _ in measured):.2f} s per call, '
              f'{tokens / seconds:.1f} completion tokens/s')
    ratio = sum(s for s, _ in results['plain']) / sum(s for s, _ in results['draft'])
    same = sum(a == b for a, b in zip(texts['plain'], texts['draft']))
    print(f'speed-up with the 0.5B draft: {ratio:.2f}x (wall time, plain / draft); {same} of {len(texts["plain"])} '
          'answers identical')


if __name__ == '__main__':
    main()
