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

    python bench/paper_scale.py --simulate            # the same sizes, run, against a simulated server farm
    python bench/paper_scale.py --simulate --output bench/results/paper_scale.json   # and keep the figures

`--simulate` runs the original's full pipeline at its real size against bench/fixed_latency_server.py (its own
process; every answer after `--latency` seconds, 2 by default, with hundreds of calls in flight; its planner takes
`--steps` steps per trajectory, 3 by default, about the 2.7 of the laptop study's finished teacher trajectories, each
step a plan and a tool call): trajectories and
ratings for 62, 602 and 2,780 training requests (20 single-step + 7, 97 and 460 batches of 6), then 12 runs of
trajectories and ratings on a 50-request evaluation set (`agentsim_runs`). Each runs once in one process and once on
a two-node Ray cluster on this machine (`agentsim.cluster.LocalRayCluster`, one CPU per node, `--ray HOST:PORT`). It
prints, per stage: wall time, model calls, CPU per call, peak memory, and the growth of each with size; and a bare
`requests` client (threads sharing one `requests.Session`, the JSON bodies agentsim sent) posting to the same server
in the same run, for its CPU per call (and the same client reading the proxy settings once, as agentsim does, for
comparison). CPU is the kernel's account of the processes (user + system): the command's own for one process; on
Ray, the driver's plus every worker's (tasks and the coordinator actor), with Ray's own daemons (GCS, raylets,
agents) counted apart. Memory is the peak resident set: the command's; on Ray, the driver's,
the sum over the run's agentsim processes (sampled every 0.2 s), and Ray's daemons apart. `--output FILE` also writes
every figure as JSON, with the date, the machine's core count and its load average at the start and the end (other
jobs on the machine inflate wall times and CPU alike); `readme_table` renders the README's table from that file.
"""
import argparse, datetime, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


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



# ---- --simulate: the full pipeline, run against a simulated server farm ----

CLOCK = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100


def write_request_set(directory: Path, single: int, batches: int, label: str = 'train'):
    "`single` single-step requests in 0.txt and `batches` files of 6 multi-step ones, in the original's layout."
    directory.mkdir(parents=True)
    def write(name: str, requests: list[dict]):
        (directory/name).write_text('```json\n' + json.dumps({'topic': 'Travel', 'requests': requests}) + '\n```\n')
    if single: write('0.txt', [{'request': f'What is the capital of country {label} {k}?', 'topic': 'Geography'}
                               for k in range(single)])
    for batch in range(1, batches + 1):
        write(f'{batch}.txt', [{'request': f'Plan trip {label} {batch}.{k}: find a hotel, add the dates to my calendar '
                                           f'and email the total cost to sam@example.com', 'explanation': 'search, '
                                           'calculate, create an event, send an email'} for k in range(6)])


def process_table() -> dict:
    "pid: (parent, process group, command line, CPU seconds, resident MB) of every process (Linux /proc)."
    table = {}
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit(): continue
        try:
            stat = (entry/'stat').read_text()
            command = (entry/'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
        except OSError: continue
        fields = stat[stat.rindex(')') + 2:].split()  # from the state on: parent, group, ..., utime, stime, ..., rss
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), command, cpu, int(fields[21]) * 4096 / 2**20)
    return table


def below(table: dict, roots: set) -> set:
    "`roots` and every process they started, and those started, and so on."
    found = set(roots)
    while grown := {pid for pid, row in table.items() if row[0] in found} - found: found |= grown
    return found


def cluster_processes(table: dict, cluster) -> dict:
    "pid: `worker` (a task's or actor's process, which runs agentsim) or `daemon` (Ray's own), for the cluster's processes."
    groups = set(cluster.groups.values())
    pids = below(table, {pid for pid, row in table.items() if row[1] in groups})
    return {pid: 'worker' if table[pid][2].startswith('ray::') and 'Agent' not in table[pid][2] else 'daemon' for pid in pids}


class Sampler:
    """Every 0.2 s while a command runs: the resident memory of it (with what it started) and, on Ray, of the cluster's
    workers and daemons, and the CPU seconds each cluster process has used (Ray reaps its workers without the kernel
    adding their CPU to the raylet's, so a worker's CPU is read while it lives)."""
    def __init__(self, pid: int, cluster=None):
        self.pid, self.cluster, self.peak = pid, cluster, {'driver_mb': 0.0, 'workers_mb': 0.0, 'daemons_mb': 0.0}
        self.first, self.last, self.done = {}, {}, threading.Event()
        if cluster is not None: self.read(first=True)
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def read(self, first: bool = False):
        table = process_table()
        self.peak['driver_mb'] = max(self.peak['driver_mb'], sum(table[p][4] for p in below(table, {self.pid}) if p in table))
        if self.cluster is None: return
        memory = {'worker': 0.0, 'daemon': 0.0}
        for pid, kind in cluster_processes(table, self.cluster).items():
            if self.last.get(pid, ('',))[0] == 'worker': kind = 'worker'  # an ended worker (a zombie) has no command line
            memory[kind] += table[pid][4]
            self.last[pid] = (kind, table[pid][3])
            if first: self.first[pid] = table[pid][3]
        self.peak['workers_mb'] = max(self.peak['workers_mb'], memory['worker'])
        self.peak['daemons_mb'] = max(self.peak['daemons_mb'], memory['daemon'])

    def sample(self):
        while not self.done.wait(0.2): self.read()

    def stop(self) -> dict:
        "The peaks, and the CPU seconds the cluster's workers and daemons used since the start."
        self.done.set()
        self.thread.join()
        if self.cluster is not None: self.read()
        cpu = {'worker': 0.0, 'daemon': 0.0}
        for pid, (kind, seconds) in self.last.items(): cpu[kind] += seconds - self.first.get(pid, 0.0)
        return {**self.peak, 'workers_cpu': cpu['worker'], 'daemons_cpu': cpu['daemon']}


def measure(arguments: list[str], env: dict, server, cluster=None) -> dict:
    "Run one command; wall seconds, model calls, CPU seconds (its own, and on Ray the workers' and daemons') and peak MB."
    server.stats(reset=True)
    started = time.monotonic()
    process = subprocess.Popen(arguments, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid, cluster)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds, peak = time.monotonic() - started, sampler.stop()
    if process.returncode != 0: raise SystemExit(f'error: {" ".join(arguments[:1])} failed:\n{stderr[-3000:]}')
    stats = server.stats()
    return {'seconds': seconds, 'calls': stats['requests'], 'peak_in_flight': stats['peak'],
            'cpu': usage.ru_utime + usage.ru_stime, **peak, 'driver_mb': max(usage.ru_maxrss / 1024, peak['driver_mb'])}


def add(rows: list[dict]) -> dict:
    "Stages run one after another, as one: times, calls and CPU add up, peaks are the largest."
    total = {key: sum(r[key] for r in rows) for key in ('seconds', 'calls', 'cpu', 'workers_cpu', 'daemons_cpu')}
    total.update({key: max(r[key] for r in rows) for key in ('driver_mb', 'workers_mb', 'daemons_mb', 'peak_in_flight')})
    return total


def bare_client(url: str, bodies_file: str, calls: int, workers: int,
                environment_once: bool = False):  # read the proxy settings once, as agentsim's sessions do
    "What a minimal client does per call: post a recorded JSON body on a shared `requests.Session`, read the JSON."
    from concurrent.futures import ThreadPoolExecutor
    import requests
    bodies, session = json.loads(Path(bodies_file).read_text()), requests.Session()
    if environment_once: session.proxies, session.trust_env = requests.utils.get_environ_proxies(url), False
    def one(index: int):
        response = session.post(f'{url}/v1/chat/completions', json=bodies[index % len(bodies)], timeout=300)
        response.raise_for_status()
        return response.json()['choices'][0]['message']['content']
    with ThreadPoolExecutor(workers) as pool: list(pool.map(one, range(calls)))


def per_call(row: dict, part: str = 'client') -> float:
    "Milliseconds of CPU per model call: agentsim's processes (`client`), or with Ray's daemons too (`all`)."
    cpu = row['cpu'] + row['workers_cpu'] + (row['daemons_cpu'] if part == 'all' else 0.0)
    return 1000 * cpu / max(row['calls'], 1)


def takes_ray(command: str) -> bool:
    "Whether an agentsim command has the --ray flag (in this checkout)."
    return '--ray' in subprocess.run([command, '--help'], capture_output=True, text=True).stdout


def run_mode(mode: str, work: Path, sizes: list[int], workers: int, model: list[str], env: dict, server,
             cluster=None) -> list[tuple]:
    "Every stage of one mode: `(mode, stage, requests, row)`; on Ray, only the commands that take --ray."
    ray, results, slug = (['--ray', cluster.address] if cluster else []), [], 'ray' if cluster else 'local'
    def cache(name): return {**env, 'AGENTSIM_CACHE': str(work/f'{slug}-{name}.sqlite')}  # a fresh replay cache
    on = {command: not cluster or takes_ray(command) for command in ('agentsim_evaluate', 'agentsim_runs')}
    for command, available in on.items():
        if not available: print(f'  {mode}: {command} has no --ray here: left out', file=sys.stderr)
    for batches in sizes:
        n, requests, out = 20 + 6 * batches, work/f'train-{batches}', work/f'{slug}-{batches}'
        flags = ['--requests_dir', str(requests), '--num_workers', str(workers), *model, *ray]
        results.append((mode, 'trajectories', n, measure(
            ['agentsim_trajectories', *flags, '--output_dir', str(out/'trajectories'), '--seed', '1'], cache(batches),
            server, cluster)))
        if on['agentsim_evaluate']:
            results.append((mode, 'ratings', n, measure(
                ['agentsim_evaluate', *flags, '--trajectories_dir', str(out/'trajectories'),
                 '--output_dir', str(out/'evaluations')], cache(batches), server, cluster)))
            results.append((mode, 'trajectories + ratings', n, add([results[-2][3], results[-1][3]])))
        print(f'  {mode}: {n} requests, {sum(r["seconds"] for m, st, k, r in results[-3:] if k == n and "+" not in st):.0f} s',
              file=sys.stderr, flush=True)
    if on['agentsim_runs']:
        series = measure(['agentsim_runs', str(work/f'{slug}-series'), '--requests_dir', str(work/'eval'), '--runs',
                          '12', '--num_workers', str(workers), *model, *ray], cache('series'), server, cluster)
        results.append((mode, '12 runs of 50 (agentsim_runs)', 600, series))
        print(f'  {mode}: series, {series["seconds"]:.0f} s', file=sys.stderr, flush=True)
    return results


def whole_stage(results: list[tuple], mode: str) -> str:
    "The stage that stands for a mode's whole training pipeline: trajectories and ratings, or trajectories alone."
    stages = [stage for m, stage, *_ in results if m == mode]
    return 'trajectories + ratings' if 'trajectories + ratings' in stages else 'trajectories'


def goals(results: list[tuple], bare: dict) -> list[dict]:
    "Per mode: the whole pipeline's figures at each size, the growth from the last size but one, and the goals."
    summary = []
    for mode in dict.fromkeys(m for m, *_ in results):
        whole = whole_stage(results, mode)
        train = [(n, r) for m, stage, n, r in results if m == mode and stage == whole]
        (n1, small), (n2, large) = train[-2], train[-1]
        cpu = lambda r: r['cpu'] + r['workers_cpu']
        memory = large['driver_mb'] + large['workers_mb']
        summary.append({'mode': mode, 'stage': whole, 'requests': [n for n, _ in train],
                        'cpu_ms_per_call': [per_call(r) for _, r in train],
                        'memory_mb': [r['driver_mb'] + r['workers_mb'] for _, r in train],
                        'wall_s': [r['seconds'] for _, r in train],
                        'marginal_cpu_ms_per_call': 1000 * (cpu(large) - cpu(small)) / (large['calls'] - small['calls']),
                        'cpu_ratio_to_bare': per_call(large) / per_call(bare),
                        'cpu_goal_met': per_call(large) < 1.5 * per_call(bare), 'memory_goal_met': memory < 1024})
    return summary


def print_simulation(results: list[tuple], bare: dict, options, bare_once: dict):
    "The table, the growth with size and the goals."
    print(f'fixed answer latency {options.latency} s, {options.steps} steps per trajectory, --num_workers '
          f'{options.workers}; {os.cpu_count()} cores; '
          f'agentsim {__import__("agentsim").__version__}')
    head = ('mode', 'stage', 'requests', 'calls', 'wall s', 'in flight', 'CPU ms/call', 'with Ray daemons',
            'peak MB', 'workers MB')
    rows = [head] + [(mode, stage, f'{n:,}', f'{r["calls"]:,}', f'{r["seconds"]:.0f}', str(r['peak_in_flight']),
                      f'{per_call(r):.2f}', f'{per_call(r, "all"):.2f}' if r['daemons_cpu'] else '',
                      f'{r["driver_mb"]:.0f}', f'{r["workers_mb"]:.0f}' if r['workers_mb'] else '')
                     for mode, stage, n, r in results]
    for stage, r in (('same JSON bodies', bare), ('same, environment read once', bare_once)):
        rows.append(('bare requests', stage, '', f'{r["calls"]:,}', f'{r["seconds"]:.0f}', str(r['peak_in_flight']),
                     f'{per_call(r):.2f}', '', f'{r["driver_mb"]:.0f}', ''))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows: print('  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for g in goals(results, bare):
        sizes = g['requests']
        print(f'{g["mode"]}, {g["stage"]}: CPU per call ' + ', '.join(f'{x:.2f}' for x in g['cpu_ms_per_call']) + ' ms at '
              + ', '.join(f'{n:,}' for n in sizes) + f' requests ({g["marginal_cpu_ms_per_call"]:.2f} ms per extra call from '
              f'{sizes[-2]:,} to {sizes[-1]:,}); peak memory ' + ', '.join(f'{mb:.0f}' for mb in g['memory_mb'])
              + ' MB; wall ' + ', '.join(f'{s:.0f}' for s in g['wall_s']) + ' s')
        print(f'  goals at {sizes[-1]:,} requests: CPU per call {g["cpu_ms_per_call"][-1]:.2f} ms = '
              f'{g["cpu_ratio_to_bare"]:.2f} x the bare client\'s {per_call(bare):.2f} ms (goal < 1.5 x); '
              f'memory {g["memory_mb"][-1]:.0f} MB (goal < 1,024 MB)')


def rounded(value, digits: int = 6):
    "`value` with every float in it rounded to `digits` decimals: JSON that reads well and rounds as the printout does."
    if isinstance(value, float): return round(value, digits)
    if isinstance(value, list): return [rounded(v, digits) for v in value]
    if isinstance(value, dict): return {key: rounded(v, digits) for key, v in value.items()}
    return value


def figures(results: list[tuple], bare: dict, bare_once: dict, options, started: dict, ended: dict) -> dict:
    "Everything `--simulate` measured, as JSON: every stage's row, the bare client's, the goals, and the conditions."
    def row(r: dict) -> dict:
        return {'calls': r['calls'], 'wall_s': r['seconds'], 'peak_in_flight': r['peak_in_flight'],
                'cpu_s': r['cpu'] + r['workers_cpu'], 'cpu_ms_per_call': per_call(r),
                'cpu_ms_per_call_with_ray_daemons': per_call(r, 'all') if r['daemons_cpu'] else None,
                'peak_mb': r['driver_mb'], 'workers_mb': r['workers_mb'] or None, 'ray_daemons_mb': r['daemons_mb'] or None}
    return rounded({'command': f'python bench/paper_scale.py --simulate --steps {options.steps}', 'agentsim_version': __import__('agentsim').__version__,
                    'date': started['date'], 'cores': os.cpu_count(),
                    'load_average': {'start': started['load'], 'end': ended['load']},  # 1, 5 and 15 minutes, as `uptime`
                    'latency_s': options.latency, 'steps_per_trajectory': options.steps, 'num_workers': options.workers,
                    'stages': [{'mode': mode, 'stage': stage, 'requests': n, **row(r)} for mode, stage, n, r in results],
                    'bare_client': {'stage': 'same JSON bodies', **row(bare)},
                    'bare_client_environment_once': {'stage': 'same, environment read once', **row(bare_once)},
                    'goals': goals(results, bare)})


def conditions() -> dict:
    "Today's date and the machine's load average (1, 5, 15 minutes)."
    return {'date': datetime.date.today().isoformat(), 'load': list(os.getloadavg())}


def _figure(value: float) -> str:
    "Three significant figures for milliseconds: 2.86, 21.3, 145."
    return f'{value:.2f}' if value < 10 else f'{value:.1f}' if value < 100 else f'{value:.0f}'


def readme_table(figures: dict) -> str:
    "The README's performance table (Markdown), from what `--simulate --output` wrote."
    rows = ['| mode | requests | model calls | wall | agentsim CPU per call | peak memory |', '|---|---|---|---|---|---|']
    names = {'one process': 'one process', 'Ray, 2 nodes': 'two-node Ray cluster'}
    for goal in figures['goals']:
        sizes = [s for s in figures['stages'] if s['mode'] == goal['mode'] and s['stage'] == goal['stage']]
        each = lambda show: ' / '.join(show(s) for s in sizes)
        largest = sizes[-1]
        memory = (each(lambda s: f"{s['peak_mb']:.0f}") + ' MB' if largest['workers_mb'] is None
                  else f"{largest['peak_mb']:.0f} MB driver + {largest['workers_mb']:.0f} MB workers")
        cells = [names.get(goal['mode'], goal['mode']), each(lambda s: f"{s['requests']:,}"), each(lambda s: f"{s['calls']:,}"),
                 each(lambda s: f"{s['wall_s']:.0f}") + ' s', each(lambda s: _figure(s['cpu_ms_per_call'])) + ' ms', memory]
        rows.append('| ' + ' | '.join(cells) + ' |')
    bare = figures['bare_client']
    rows.append(f"| a bare `requests` client, same JSON | | {bare['calls']:,} | {bare['wall_s']:.0f} s | "
                f"{_figure(bare['cpu_ms_per_call'])} ms | {bare['peak_mb']:.0f} MB |")
    return '\n'.join(rows)



def readme_summary(figures: dict) -> str:
    "The README's sentences on when the figures were measured and how they meet the goals (Markdown), with `note` if any."
    load, bare = figures['load_average'], figures['bare_client']['cpu_ms_per_call']
    one = next(goal for goal in figures['goals'] if goal['mode'] == 'one process')
    alone = next(s for s in figures['stages'] if s['mode'] == 'one process' and s['stage'] == 'trajectories'
                 and s['requests'] == one['requests'][-1])
    grows = 'linearly' if abs(one['marginal_cpu_ms_per_call'] - one['cpu_ms_per_call'][-1]) < 0.25 * one['cpu_ms_per_call'][-1] else 'not linearly'
    verdict = lambda ratio: 'under' if ratio < 1.5 else 'above'
    steps = figures.get('steps_per_trajectory', 1)
    planner = ('picks `final_answer` at once (one step, two calls per trajectory)' if steps == 1 else
               f'takes {steps} steps per trajectory ({2 * steps} calls: a plan and a tool call per step)')
    return (f"Measured once on {figures['date']} on a {figures['cores']}-core machine (a load of {load['start'][0]:.1f} at "
            f"the start, {load['end'][0]:.1f} at the end{'; ' + figures['note'] if figures.get('note') else ''}); the simulated "
            f"planner {planner}. The bare client cost {bare:.2f} ms of CPU per call in that run; "
            f"machines differ about 3× in Python speed, so only the ratios carry over to another machine.\n\n"
            f"The client's cost grows {grows} ({one['marginal_cpu_ms_per_call']:.2f} ms per extra call from "
            f"{one['requests'][-2]:,} to {one['requests'][-1]:,} requests) and stays under 1 GB ({one['memory_mb'][-1]:.0f} MB), "
            f"{'and' if one['cpu_ratio_to_bare'] < 1.5 else 'but'} at {one['cpu_ms_per_call'][-1]:.2f} ms per call it is {one['cpu_ratio_to_bare']:.2f}× the bare client's, "
            f"{verdict(one['cpu_ratio_to_bare'])} the 1.5× goal. The trajectories alone are "
            f"{alone['cpu_ms_per_call'] / bare:.2f}× ({verdict(alone['cpu_ms_per_call'] / bare)} it).")


def readme_steps(figures: dict, one_step: dict) -> str:
    "The README's sentence on the same run with a planner that answers at once (`--steps 1`), from both figures files."
    def whole(f):
        goal = next(g for g in f['goals'] if g['mode'] == 'one process')
        return goal['cpu_ms_per_call'][-1], goal['cpu_ratio_to_bare'], f['bare_client']['cpu_ms_per_call']
    (per_call_1, ratio_1, bare_1), (per_call_n, ratio_n, _) = whole(one_step), whole(figures)
    trajectories = next(s for s in one_step['stages'] if s['mode'] == 'one process' and s['stage'] == 'trajectories'
                        and s['requests'] == max(one_step['goals'][0]['requests']))
    verdict = lambda ratio: 'meets' if ratio < 1.5 else 'misses'
    return (f"With a simulated planner that answers at once (`--steps 1`, two calls per trajectory; "
            f"`bench/results/paper_scale-steps-1.json`, one process, measured on {one_step['date']}) the same pipeline costs "
            f"{per_call_1:.2f} ms per call, {ratio_1:.2f}× the bare client's {bare_1:.2f} ms in that run (the trajectories "
            f"alone {trajectories['cpu_ms_per_call'] / bare_1:.2f}×), against {ratio_n:.2f}× with "
            f"{figures.get('steps_per_trajectory', 1)} steps. What agentsim spends per trajectory besides its calls (reading the "
            "request, writing the trajectory, its sidecar and the evaluation, rating the steps) is shared by fewer calls: so "
            f"the client {verdict(ratio_n)} the 1.5× goal on trajectories of about the study's length and {verdict(ratio_1)} it on "
            "one-step ones.")


def simulate(options):
    from throughput import LatencyServer
    from agentsim.cluster import LocalRayCluster
    started = conditions()
    output = Path(options.output) if options.output else None
    if output is not None and not output.parent.is_dir(): raise SystemExit(f'error: --output {output}: no such folder')
    work = Path(tempfile.mkdtemp(prefix='agentsim-paper-'))
    sizes = [int(b) for b in options.sizes.split(',')]
    env = {**os.environ, 'OPENAI_API_KEY': os.environ.get('OPENAI_API_KEY', 'bench-key-not-secret')}
    # agentsim's bytecode, as a first import would have written it (with PYTHONDONTWRITEBYTECODE set, as on some
    # machines, every process would otherwise compile agentsim again, about 0.07 s each here)
    import agentsim
    subprocess.run([sys.executable, '-m', 'compileall', '-q', str(Path(agentsim.__file__).parent)], check=True)
    for batches in sizes: write_request_set(work/f'train-{batches}', 20, batches)
    write_request_set(work/'eval', 2, 8, label='eval')  # 50 requests: 2 single-step, 8 batches of 6
    try:
        with LatencyServer(options.latency, options.steps) as server:
            model = ['--llm', 'openai:bench', '--base_url', f'{server.url}/v1']
            results = run_mode('one process', work, sizes, options.workers, model, env, server)
            bodies = work/'bodies.json'
            with urllib.request.urlopen(f'{server.url}/bodies', timeout=10) as response:
                bodies.write_text(json.dumps(json.loads(response.read())['bodies']))
            bare_command = [sys.executable, str(Path(__file__).resolve()), '--bare_client', server.url, '--bodies',
                            str(bodies), '--calls', str(options.bare_calls), '--workers', str(options.workers)]
            bare = measure(bare_command, env, server)
            bare_once = measure(bare_command + ['--environment_once'], env, server)
            if not options.no_ray:
                with LocalRayCluster(nodes=2, num_cpus=1) as cluster:
                    results += run_mode('Ray, 2 nodes', work, sizes, options.workers, model, env, server, cluster)
    finally: shutil.rmtree(work, ignore_errors=True)
    print_simulation(results, bare, options, bare_once)
    if output is not None:
        output.write_text(json.dumps(figures(results, bare, bare_once, options, started, conditions()), indent=1) + '\n')
        print(f'figures written to {output}', file=sys.stderr)


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
    parser.add_argument('--simulate', action='store_true', help='run the full pipeline against a simulated server farm')
    parser.add_argument('--latency', type=float, default=2.0, help='--simulate: seconds the server takes per answer')
    parser.add_argument('--steps', type=int, default=3, help="--simulate: the simulated planner's steps per trajectory")
    parser.add_argument('--workers', type=int, default=300, help='--simulate: --num_workers, calls in flight')
    parser.add_argument('--sizes', default='7,97,460', help='--simulate: batches of 6 besides the 20 single-step requests')
    parser.add_argument('--bare_calls', type=int, default=3000, help='--simulate: calls of the bare requests client')
    parser.add_argument('--no_ray', action='store_true', help='--simulate: one process only')
    parser.add_argument('--output', help='--simulate: also write the figures as JSON to this file')
    parser.add_argument('--bare_client', help=argparse.SUPPRESS)  # the bare client's own process: the server's URL
    parser.add_argument('--bodies', help=argparse.SUPPRESS)
    parser.add_argument('--calls', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--environment_once', action='store_true', help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.bare_client:
        return bare_client(options.bare_client, options.bodies, options.calls, options.workers, options.environment_once)
    if options.simulate:
        if options.steps < 1: raise SystemExit(f'error: --steps {options.steps}: at least 1')
        return simulate(options)
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
