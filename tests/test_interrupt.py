"""Ctrl-C and SIGTERM stop a command within seconds, against the real embedded model: delivered to the process alone
or, as a terminal delivers Ctrl-C, to its whole process group. One line says so, nothing is written after the signal,
and the command's llama-server is gone."""
import json, os, signal, subprocess, time
from pathlib import Path
import pytest

STOP_WITHIN = 15  # seconds from the signal to the exit


def llama_server_children(pid: int) -> set[int]:
    "The llama-server processes whose parent is `pid` (the embedded server runs in a session of its own)."
    children = set()
    for status in Path('/proc').glob('[0-9]*/status'):
        try: fields = dict(line.split(':\t', 1) for line in status.read_text().splitlines() if ':\t' in line)
        except OSError: continue  # the process ended while we looked
        if fields.get('PPid', '').strip() == str(pid) and fields.get('Name', '').strip().startswith('llama-server'):
            children.add(int(status.parent.name))
    return children


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try: state = Path(f'/proc/{pid}/stat').read_text().split(') ')[-1].split()[0]
        except OSError: return True
        if state == 'Z': return True  # killed, waiting for its (already exited) parent's reaper
        time.sleep(0.1)
    return False


def requests_dir(tmp_path: Path) -> Path:
    "Two batches of multi-step requests: each takes several model calls, so calls are in flight when the signal comes."
    directory = tmp_path/'requests'
    directory.mkdir()
    for batch in (1, 2):
        requests = [{'request': f'Find the three largest cities of country number {batch * 10 + i} by population, then '
                                'compare their populations and send me a summary by email.', 'explanation': '-'}
                    for i in range(4)]
        (directory/f'{batch}.txt').write_text('```json\n' + json.dumps({'topic': 'T', 'requests': requests}) + '\n```')
    return directory


def written_after(directory: Path, moment: float) -> list[str]:
    "Files under `directory` whose modification time is after `moment` (time.time())."
    return sorted(str(p.relative_to(directory)) for p in directory.rglob('*') if p.is_file() and p.stat().st_mtime > moment)


@pytest.mark.local_model
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
@pytest.mark.parametrize('to_group', [False, True], ids=['process', 'group'])
def test_a_signal_stops_trajectories_at_once(tmp_path, signum, to_group):
    out = tmp_path/'out'
    process = subprocess.Popen(
        ['agentsim_trajectories', f'--requests_dir={requests_dir(tmp_path)}', f'--output_dir={out}', '--llm=local',
         '--num_workers=2', '--seed=1', '--max_steps=10'],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, 'AGENTSIM_CACHE': 'off'},
        start_new_session=True,  # its own process group, as a terminal gives a command
        # a child of a background shell inherits SIGINT ignored: give it Ctrl-C back, as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        before = []  # what it printed before the signal: the model is ready once it says so
        while not any('is ready after' in line for line in before) and process.poll() is None:
            before.append(process.stderr.readline())
        servers = llama_server_children(process.pid)
        assert servers, f'no llama-server was started: {"".join(before)}'
        time.sleep(2)  # both workers are now in model calls: a trajectory takes many
        assert process.poll() is None, 'the run ended before it could be interrupted'
        signalled = time.time()
        start = time.monotonic()
        if to_group: os.killpg(process.pid, signum)
        else: process.send_signal(signum)
        try: stderr = process.communicate(timeout=STOP_WITHIN + 30)[1]
        except subprocess.TimeoutExpired: pytest.fail(f'still running {STOP_WITHIN + 30} s after the signal')
        stopped_in = time.monotonic() - start
    finally:
        if process.poll() is None: os.killpg(process.pid, signal.SIGKILL)
    print(f'\n{signal.Signals(signum).name} to the {"group" if to_group else "process"}: exit after {stopped_in:.1f} s')
    assert stopped_in < STOP_WITHIN, stderr
    assert process.returncode == 128 + signum, stderr
    interrupted = [line for line in stderr.splitlines() if 'interrupted' in line]
    assert len(interrupted) == 1 and interrupted[0].startswith('interrupted'), stderr
    assert 'Traceback' not in stderr, stderr
    assert written_after(out, signalled) == [], stderr
    assert all(gone(pid, within=5) for pid in servers), 'the llama-server outlived the stopped command'
