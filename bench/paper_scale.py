"""The original's full run on paper: calls, tokens, hours and cost, from tokens measured per request and stage.

    python bench/paper_scale.py
    python bench/paper_scale.py --trajectories nbs/study/teacher/trajectories --prompt_tps 20000 --completion_tps 2000

The original generated 20 single-step requests and 460 batches of 6 multi-step requests, then a trajectory and a
rating for each. Tokens per trajectory come from a real run directory's sidecars (`meta/<id>.json` records every
planner and tool call's tokens; by default the study's teacher, Qwen2.5-Coder-1.5B with at most 10 steps), split by
single- and multi-step requests. Tokens per request generation and per rating are not recorded on disk; their
defaults are those `agentsim_demo` measured with the embedded model (2 generation calls: 415 prompt + 561 completion
tokens; 2 ratings: 775 + 97), and flags override them. Hours assume one server (or a pool behind `--base_url a,b,...`)
that processes prompt and completion tokens at the given aggregate rates.
"""
import argparse, json, statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def trajectory_tokens(directory: Path) -> dict:
    "Mean calls, prompt and completion tokens per trajectory, for single-step (0_*) and multi-step requests."
    kinds = {'single': [], 'multi': []}
    for sidecar in sorted((directory/'meta').glob('*.json')):
        meta = json.loads(sidecar.read_text())
        calls = [step[part] for step in meta['steps'] for part in ('planner', 'tool_call') if step.get(part)]
        kinds['single' if meta['request_id'].startswith('0_') else 'multi'].append(
            (len(calls), sum(c['prompt_tokens'] for c in calls), sum(c['completion_tokens'] for c in calls)))
    if not kinds['multi']: raise SystemExit(f'error: {directory}/meta: no multi-step trajectory to measure')
    return {kind: tuple(statistics.mean(column) for column in zip(*rows)) if rows else (0, 0, 0)
            for kind, rows in kinds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trajectories', default=str(ROOT/'nbs'/'study'/'teacher'/'trajectories'),
                        help='a run directory whose sidecars give the tokens per trajectory')
    parser.add_argument('--single', type=int, default=20, help='single-step requests (the original: 20)')
    parser.add_argument('--batches', type=int, default=460, help='batches of 6 multi-step requests (the original: 460)')
    parser.add_argument('--generation_tokens', default='207.5,280.5', help='prompt,completion tokens per generation call')
    parser.add_argument('--rating_tokens', default='387.5,48.5', help='prompt,completion tokens per rating')
    parser.add_argument('--prompt_tps', type=float, default=10000.0, help='prompt tokens/s the server(s) process')
    parser.add_argument('--completion_tps', type=float, default=1000.0, help='completion tokens/s the server(s) generate')
    parser.add_argument('--price_in', type=float, default=2.5, help='price per million prompt tokens')
    parser.add_argument('--price_out', type=float, default=10.0, help='price per million completion tokens')
    options = parser.parse_args()
    measured = trajectory_tokens(Path(options.trajectories))
    generation = [float(x) for x in options.generation_tokens.split(',')]
    rating = [float(x) for x in options.rating_tokens.split(',')]
    requests_multi = 6 * options.batches
    stages = [  # (stage, calls, prompt tokens, completion tokens)
        ('request generation', 1 + options.batches, (1 + options.batches) * generation[0], (1 + options.batches) * generation[1]),
        ('trajectories, single-step', options.single * measured['single'][0], options.single * measured['single'][1],
         options.single * measured['single'][2]),
        ('trajectories, multi-step', requests_multi * measured['multi'][0], requests_multi * measured['multi'][1],
         requests_multi * measured['multi'][2]),
        ('ratings', options.single + requests_multi, (options.single + requests_multi) * rating[0],
         (options.single + requests_multi) * rating[1]),
    ]
    print(f'{options.single} single-step + {options.batches} x 6 multi-step requests; tokens per trajectory from '
          f'{options.trajectories}')
    print(f'server: {options.prompt_tps:,.0f} prompt + {options.completion_tps:,.0f} completion tokens/s; '
          f'price {options.price_in}/{options.price_out} per million prompt/completion tokens')
    print(f'{"stage":<27}{"calls":>10}{"prompt tok":>14}{"compl. tok":>13}{"hours":>8}{"cost":>10}')
    totals = [0.0] * 5
    for name, calls, prompt, completion in stages:
        hours = (prompt / options.prompt_tps + completion / options.completion_tps) / 3600
        cost = prompt / 1e6 * options.price_in + completion / 1e6 * options.price_out
        for k, value in enumerate((calls, prompt, completion, hours, cost)): totals[k] += value
        print(f'{name:<27}{calls:>10,.0f}{prompt:>14,.0f}{completion:>13,.0f}{hours:>8.1f}{cost:>10,.2f}')
    print(f'{"total":<27}{totals[0]:>10,.0f}{totals[1]:>14,.0f}{totals[2]:>13,.0f}{totals[3]:>8.1f}{totals[4]:>10,.2f}')


if __name__ == '__main__':
    main()
