"""agentsim's own cost next to the model's: concurrency, CPU per model call, start-up and replay.

    python bench/throughput.py                 # latency 0.5 s per answer
    python bench/throughput.py --latency 1.0

A server with a fixed answer latency (bench/fixed_latency_server.py, its own process) answers every schema agentsim
sends. The commands run as a user runs them (`agentsim_requests_multi`, `agentsim_trajectories`), each in its own
process, with a fresh replay cache per measurement. Prints one table, each figure next to its goal; it is a
measurement, never a pass/fail test.

- throughput: trajectories at 1, 5, 20 and 50 workers, each on 6 × workers requests (24 for one worker) of one
  request set, so that every worker has the same six trajectories' work; calls per second between the server's first
  and last answer, against the ideal workers ÷ latency.
- CPU per model call: the command's CPU seconds (user + system, from the kernel's accounting of the child) minus
  those of a start-up-only run, divided by its model calls.
- start-up: from starting the command to the server receiving its first request.
- replay: the 20-worker command again into a new directory with the same seed and cache: seconds and model calls.
"""
import argparse, json, math, os, resource, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class LatencyServer:
    "bench/fixed_latency_server.py in its own process, for the length of a `with` block."
    def __init__(self, latency: float, steps: int = 1):  # steps: a planner's steps per trajectory (the server's --steps)
        self.port, self.latency, self.steps = free_port(), latency, steps
        self.url = f'http://127.0.0.1:{self.port}'

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, str(HERE/'fixed_latency_server.py'), '--port', str(self.port),
                                         '--latency', str(self.latency), '--steps', str(self.steps)])
        for _ in range(100):
            try: return self if self.stats() is not None else self
            except OSError: time.sleep(0.05)
        raise SystemExit(f'error: the fixed-latency server did not start on port {self.port}')

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait()

    def stats(self, reset: bool = False) -> dict:
        with urllib.request.urlopen(f'{self.url}/stats' + ('?reset=1' if reset else ''), timeout=5) as response:
            return json.loads(response.read())


def run_command(arguments: list[str], env: dict) -> dict:
    "Run one agentsim command; its wall seconds, CPU seconds and start time."
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    result = subprocess.run(arguments, env=env, capture_output=True, text=True)
    seconds = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0: raise SystemExit(f'error: {arguments[0]} failed:\n{result.stderr[-2000:]}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {'seconds': seconds, 'cpu': cpu, 'started': started}


def subset(requests: Path, destination: Path, count: int) -> int:
    "Copy whole batch files from `requests` until `count` requests are in `destination`; returns how many."
    destination.mkdir(parents=True)
    copied = 0
    for path in sorted(requests.glob('*.txt'), key=lambda p: int(p.stem)):
        if copied >= count: break
        shutil.copy(path, destination/path.name)
        copied += 6
    return copied


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--latency', type=float, default=0.5, help='seconds the server takes per answer')
    parser.add_argument('--workers', default='1,5,20,50', help='worker counts to measure')
    options = parser.parse_args()
    workers = [int(w) for w in options.workers.split(',')]
    work = Path(tempfile.mkdtemp(prefix='agentsim-bench-'))
    env = {**os.environ, 'OPENAI_API_KEY': os.environ.get('OPENAI_API_KEY', 'bench-key-not-secret'),
           'AGENTSIM_CACHE': str(work/'requests-cache.sqlite')}
    rows = []
    with LatencyServer(options.latency) as server:
        model = ['--llm', 'openai:bench', '--base_url', f'{server.url}/v1']
        largest = max(6 * max(workers), 24)
        run_command(['agentsim_requests_multi', '--output_dir', str(work/'requests'),
                     '--num_batches', str(math.ceil(largest / 6)), '--num_workers', '16', *model], env)

        def trajectories(requests: Path, output: Path, count: int, cache: Path) -> tuple[dict, dict]:
            server.stats(reset=True)
            run = run_command(['agentsim_trajectories', '--requests_dir', str(requests), '--output_dir', str(output),
                               '--num_workers', str(count), '--seed', '1', *model],
                              {**env, 'AGENTSIM_CACHE': str(cache)})
            return run, server.stats()

        measured = {}
        for count in workers:
            requests = work/f'requests-{count}'
            n = subset(work/'requests', requests, 24 if count == 1 else 6 * count)
            run, stats = trajectories(requests, work/f'trajectories-{count}', count, work/f'cache-{count}.sqlite')
            span = stats['last'] - stats['first']
            rate = stats['requests'] / span if span > 0 else float('nan')
            ideal = count / options.latency
            measured[count] = dict(run=run, stats=stats, requests=requests, n=n)
            goal = '≥ 0.95' if count >= 20 else ''
            rows.append((f'throughput, {count} workers ({n} requests, {stats["requests"]} calls)',
                         f'{rate:.1f} calls/s = {rate / ideal:.2f} of ideal {ideal:.0f}', goal))
            rows.append((f'start-up to first model call, {count} workers', f'{stats["first"] - run["started"]:.2f} s',
                         '< 0.5 s'))

        reference = 20 if 20 in measured else workers[-1]
        chosen = measured[reference]
        # the same command on its finished directory: nothing to do but start, read and skip
        idle, idle_stats = trajectories(chosen['requests'], work/f'trajectories-{reference}', reference,
                                        work/f'cache-{reference}.sqlite')
        calls = chosen['stats']['requests']
        cpu_per_call = (chosen['run']['cpu'] - idle['cpu']) / calls
        rows.append((f'agentsim CPU per model call ({reference} workers)', f'{cpu_per_call * 1000:.2f} ms', '< 2 ms'))
        rows.append(('start-up only (finished directory, 0 calls)',
                     f'{idle["seconds"]:.2f} s wall, {idle["cpu"]:.2f} s CPU, {idle_stats["requests"]} calls', ''))
        replay, replay_stats = trajectories(chosen['requests'], work/f'replay-{reference}', reference,
                                            work/f'cache-{reference}.sqlite')
        budget = idle['seconds'] + 0.001 * calls
        rows.append((f'replay into a new directory ({calls} cached answers)',
                     f'{replay["seconds"]:.2f} s, {replay_stats["requests"]} model calls',
                     f'0 calls, ≤ {budget:.2f} s'))
    shutil.rmtree(work)
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f'fixed answer latency {options.latency} s; agentsim {__import__("agentsim").__version__}; '
          f'{os.cpu_count()} cores')
    print(f'{"measure":<{width}}  {"measured":<{value_width}}  goal')
    for name, value, goal in rows: print(f'{name:<{width}}  {value:<{value_width}}  {goal}')


if __name__ == '__main__':
    main()
