"""CPU per output file: what agentsim pays to save a request's trajectory or evaluation, beside a bare write.

    python bench/write_cost.py            # 3,000 files of each kind, in a temporary folder
    python bench/write_cost.py --files 20000

Prints microseconds of CPU (user + system, this process; the least of 5 rounds) per call of: a bare `open(...).write(...)`, agentsim's
`atomic_write_text` with and without the flush to disk (`sync`), `formats.output_path`, and `save_trajectory` with
its sidecar, the way a run saves every request. Only the ratios carry from one machine to another.
"""
import argparse, json, os, resource, shutil, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentsim.core import atomic_write_text
from agentsim.formats import output_path, save_trajectory

STEPS = [{'plan': {'user_request': 'r' * 80, 'thoughts': 't' * 200, 'task': 'k' * 60, 'selected_tool': 'final_answer'},
          'result': 'x' * 300}] * 3
META = {'request_id': '1_0', 'seed': 1, 'planner': 'prompted', 'finished': True,
        'steps': [{'step': i, 'tool': 'final_answer', 'planner': {'prompt_tokens': 400, 'seconds': 1.0}} for i in range(3)]}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_call(label: str, files: int, write, rounds: int = 5) -> float:
    "Microseconds of CPU per call of `write(i)`: the least of `rounds` rounds (other jobs only ever add to it)."
    best, per_round = float('inf'), max(files // rounds, 1)
    for r in range(rounds):
        started = cpu()
        for i in range(r * per_round, (r + 1) * per_round): write(i)
        best = min(best, 1e6 * (cpu() - started) / per_round)
    print(f'{label:<44}{best:>10.1f} µs')
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, default=3000, help='files written per kind')
    files = parser.parse_args().files
    work = Path(tempfile.mkdtemp(prefix='agentsim-writes-'))
    text = json.dumps(STEPS, indent=2)
    try:
        for name in ('bare', 'nosync', 'sync', 'saved'): (work/name).mkdir()
        print(f'{files:,} files each, CPU per call (the least of 5 rounds)')
        per_call('open().write(), no rename', files, lambda i: (work/'bare'/f'{i}.json').write_text(text))
        per_call('atomic_write_text(sync=False)', files, lambda i: atomic_write_text(work/'nosync'/f'{i}.json', text, sync=False))
        per_call('atomic_write_text(sync=True)', files, lambda i: atomic_write_text(work/'sync'/f'{i}.json', text))
        per_call('formats.output_path', files, lambda i: output_path(work/'saved', f'1_{i}'))
        per_call('save_trajectory (trajectory and sidecar)', files, lambda i: save_trajectory(work/'saved', f'1_{i}', STEPS, META))
    finally: shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__': main()
