"agentsim.stats: every metric on hand-made series checked against hand-computed values, the t-tests' edge cases, the CLI."
import json, math, re, subprocess
from pathlib import Path

import numpy as np
import pytest

from agentsim.core import AgentsimError
from agentsim.stats import (bootstrap_ci, compare_series, load_series, paired_difference, pass_hat_k,
                            request_table, series_stats, stats_report, ttest_ind)

import scipy.stats as scipy_stats


def evaluation(final, tasks=(), **overrides):
    steps = [{'task_rating': t, 'tool_rating': 5, 'result_rating': 4, 'explanation': 'ok'} for t in tasks]
    return {'steps': steps, 'final_answer_rating': final, 'explanation': 'fine', **overrides}


def write(path: Path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def meta(*conditions):
    return {'request_id': 'x', 'steps': [{'tool': 'search_internet' if c else 'final_answer', 'condition': c}
                                         for c in conditions]}


@pytest.fixture
def series_a(tmp_path):
    """Runs 1, 2 and 4 (no 3) of seven requests: 0_0 0_1 0_2 (single-step), 1_0 1_1 2_0 2_1 (multi-step).

    2_1 only has an unfinished trajectory in run 1 (no evaluation anywhere), so n = 7 by default.
    """
    s = tmp_path/'series_a'
    e1, e2, e4 = s/'evaluations_1', s/'evaluations_2', s/'evaluations_4'
    # run 1: passes 0_0 0_2 1_0 2_0 (4 of 7); rated steps 3 + 2 + 1 = 6, bad (task < 4) 1 + 2 = 3; 6 evaluations
    write(e1/'0_0.json', evaluation(5))
    write(e1/'0_1.json', evaluation(3))
    write(e1/'0_2.json', evaluation(4))
    write(e1/'1_0.json', evaluation(4, [5, 4, 3]))
    write(e1/'1_1.json', evaluation(2, [2, 2]))
    write(e1/'2_0.json', evaluation(5, [4]))
    # not evaluations: must be ignored
    write(e1/'failures.json', [{'id': '2_1', 'reason': 'timeout'}])
    write(e1/'run.json', {'seed': 1})
    write(e1/'notes.json', evaluation(1, [1, 1]))
    write(e1/'1_0_old.json', evaluation(1, [1, 1]))
    write(e1/'1_0.txt', 'the trajectory as the judge saw it')
    write(e1/'meta'/'3_0.json', evaluation(1, [1, 1]))
    # run 2: passes 0_0 0_1 2_0 (3 of 7); rated 2 + 3 = 5, bad 1; 4 valid evaluations, 2 skipped
    write(e2/'0_0.json', evaluation(5))
    write(e2/'0_1.json', evaluation(4))
    write(e2/'1_0.json', evaluation(3, [1, 5]))
    write(e2/'2_0.json', evaluation(4, [5, 5, 5]))
    write(e2/'0_2.json', evaluation(6))  # out of range: skipped
    write(e2/'1_1.json', '{"steps": [], "final_answer_rating": ')  # broken JSON: skipped
    # run 4: passes 0_0 2_0 (2 of 7); no rated steps at all -> bad task rate NaN; 2 valid evaluations, 2 skipped
    write(e4/'0_0.json', evaluation(4))
    write(e4/'2_0.json', evaluation(5))
    write(e4/'0_1.json', evaluation(4.0))  # not an integer: skipped
    write(e4/'1_0.json', evaluation(5, [4, 4.5]))  # not an integer: skipped
    # trajectories and sidecars
    t1, t2 = s/'trajectories_1', s/'trajectories_2'
    write(t1/'2_1.json', [])
    write(t1/'failures.json', [])
    write(t1/'meta'/'0_0.json', meta(None))  # full
    write(t1/'meta'/'1_0.json', meta('partial', None))  # partial
    write(t1/'meta'/'1_1.json', meta('none', 'partial', None))  # none
    write(t1/'meta'/'2_1.json', meta('none'))  # none
    write(t2/'meta'/'2_0.json', meta('full', 'full', None))  # full
    write(s/'trajectories_3'/'0_0.json', [])  # a run without evaluations is not a run
    return s


def test_reads_the_series(series_a):
    series = load_series(series_a)
    assert series.run_numbers == [1, 2, 4]
    assert [sorted(run.evaluations) for run in series.runs] == [
        ['0_0', '0_1', '0_2', '1_0', '1_1', '2_0'], ['0_0', '0_1', '1_0', '2_0'], ['0_0', '2_0']]
    problems = [p.replace(str(series_a) + '/', '') for p in series.problems]
    assert problems[0] == 'evaluations_2/0_2.json: final_answer_rating is 6, outside 1-5'
    assert problems[1].startswith('evaluations_2/1_1.json: not valid JSON (')
    assert problems[2:] == ['evaluations_4/0_1.json: final_answer_rating is 4.0, not an integer 1-5',
                            'evaluations_4/1_0.json: steps[1].task_rating is 4.5, not an integer 1-5']
    assert all('\n' not in p for p in problems)


def test_every_metric_by_hand(series_a):
    stats = series_stats(series_a)
    assert (stats['runs'], stats['run_numbers'], stats['num_requests']) == (3, [1, 2, 4], 7)
    # pass rate: 4/7, 3/7, 2/7 -> mean 3/7, sample sd 1/7
    assert stats['pass_rate']['values'] == pytest.approx([4/7, 3/7, 2/7], abs=1e-15)
    assert stats['pass_rate']['mean'] == pytest.approx(3/7, abs=1e-15)
    assert stats['pass_rate']['se'] == pytest.approx(1/7/math.sqrt(3), abs=1e-15)
    # bad task rate: 3/6, 1/5, NaN (run 4 has no rated steps) -> mean and SE of the two defined runs
    values = stats['bad_task_rate']['values']
    assert values[:2] == pytest.approx([0.5, 0.2], abs=1e-15) and math.isnan(values[2])
    assert stats['bad_task_rate']['mean'] == pytest.approx(0.35, abs=1e-15)
    assert stats['bad_task_rate']['se'] == pytest.approx(0.15, abs=1e-15)  # sd 0.3/sqrt(2), over sqrt(2)
    # completion rate: 6/7, 4/7, 2/7 -> mean 4/7, sd 2/7
    assert stats['completion_rate']['values'] == pytest.approx([6/7, 4/7, 2/7], abs=1e-15)
    assert stats['completion_rate']['mean'] == pytest.approx(4/7, abs=1e-15)
    assert stats['completion_rate']['se'] == pytest.approx(2/7/math.sqrt(3), abs=1e-15)
    # passes per request over the 3 runs: 0_0 3, 0_1 1, 0_2 1, 1_0 1, 1_1 0, 2_0 3, 2_1 0
    assert stats['pass_hat_k'] == pytest.approx([9/21, 6/21, 2/7], abs=1e-15)
    assert stats['by_kind'] == {'single_step': {'pass_rate': 5/9, 'passed': 5, 'count': 9},
                                'multi_step': {'pass_rate': 4/12, 'passed': 4, 'count': 12}}
    assert stats['by_condition'] == {'full': {'pass_rate': 1.0, 'passed': 2, 'count': 2},
                                     'partial': {'pass_rate': 1.0, 'passed': 1, 'count': 1},
                                     'none': {'pass_rate': 0.0, 'passed': 0, 'count': 2},
                                     'unknown': {'pass_rate': 6/16, 'passed': 6, 'count': 16}}
    assert len(stats['problems']) == 4


def test_num_requests_and_threshold(series_a):
    stats = series_stats(series_a, num_requests=10, bootstrap=0)
    assert stats['pass_rate']['values'] == pytest.approx([0.4, 0.3, 0.2], abs=1e-15)
    assert stats['completion_rate']['mean'] == pytest.approx(0.4, abs=1e-15)
    assert stats['pass_hat_k'] == pytest.approx([0.3, 0.2, 0.2], abs=1e-15)  # the 3 unseen requests never pass
    assert stats['by_kind']['unknown'] == {'pass_rate': 0.0, 'passed': 0, 'count': 9}
    assert stats['by_condition']['unknown']['count'] == 25
    # threshold 5: passes 0_0 2_0 | 0_0 | 2_0 (1_0 of run 4 is skipped); bad tasks (< 5): 5 of 6 and 1 of 5
    strict = series_stats(series_a, threshold=5, bootstrap=0)
    assert strict['pass_rate']['values'] == pytest.approx([2/7, 1/7, 1/7], abs=1e-15)
    assert strict['bad_task_rate']['values'][:2] == pytest.approx([5/6, 1/5], abs=1e-15)
    assert strict['completion_rate']['values'] == pytest.approx([6/7, 4/7, 2/7], abs=1e-15)  # does not depend on it


def test_empty_run_and_single_run(tmp_path):
    s = tmp_path/'empty'
    (s/'evaluations_1').mkdir(parents=True)
    write(s/'evaluations_2'/'0_0.json', evaluation(5))  # one-step trajectory: nothing rated
    stats = series_stats(s, num_requests=2)
    assert stats['pass_rate']['values'] == [0.0, 0.5]
    assert stats['completion_rate']['values'] == [0.0, 0.5]
    assert all(math.isnan(v) for v in stats['bad_task_rate']['values'])
    assert math.isnan(stats['bad_task_rate']['mean']) and math.isnan(stats['bad_task_rate']['se'])
    assert all(math.isnan(x) for x in stats['bootstrap_ci']['bad_task_rate'])
    assert stats['pass_hat_k'] == [0.25, 0.0]
    one = tmp_path/'one'
    write(one/'evaluations_1'/'0_0.json', evaluation(5))
    write(one/'evaluations_1'/'0_1.json', evaluation(1))
    single = series_stats(one)
    assert single['pass_rate']['mean'] == 0.5 and math.isnan(single['pass_rate']['se'])
    only_empty = tmp_path/'only_empty'
    (only_empty/'evaluations_1').mkdir(parents=True)
    with pytest.raises(AgentsimError, match='--num_requests'): series_stats(only_empty)
    assert series_stats(only_empty, num_requests=50)['pass_rate']['values'] == [0.0]


def test_bad_series_directories(tmp_path):
    with pytest.raises(AgentsimError, match='missing: no such directory'): series_stats(tmp_path/'missing')
    (tmp_path/'trajectories_1').mkdir()
    with pytest.raises(AgentsimError, match=re.escape(f'{tmp_path}: no evaluations_<i> directories')): series_stats(tmp_path)


def test_pass_hat_k_small_example():
    # request 1 passes 2 of 3 runs, request 2 all 3, request 3 none, request 4 one
    passed = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 0], [0, 1, 0]])
    # pass^1 = (2/3 + 1 + 0 + 1/3)/4; pass^2 = (1/3 + 1 + 0 + 0)/4; pass^3 = (0 + 1 + 0 + 0)/4
    assert pass_hat_k(passed) == pytest.approx([0.5, 1/3, 0.25], abs=1e-15)


def test_bootstrap_is_fixed_and_brackets_the_mean(series_a):
    table = request_table(load_series(series_a))
    first, again = bootstrap_ci(table, 500), bootstrap_ci(table, 500)
    assert first == again
    stats = series_stats(series_a, bootstrap=500)
    for metric in ('pass_rate', 'bad_task_rate', 'completion_rate'):
        low, high = stats['bootstrap_ci'][metric]
        assert 0 <= low <= stats[metric]['mean'] <= high <= 1
    assert bootstrap_ci(table, 500, seed=1) != first


@pytest.mark.parametrize('a, b', [
    ([0.72, 0.75, 0.70, 0.69], [0.89, 0.91, 0.87, 0.88]),
    ([0.88, 0.89, 0.87, 0.88, 0.90, 0.86, 0.88, 0.87, 0.89, 0.88, 0.87, 0.89],
     [0.85, 0.86, 0.84, 0.85, 0.86, 0.85, 0.83, 0.86, 0.85, 0.84, 0.87, 0.85]),
    ([1, 2, 3], [1.5, 2.5]),
    ([0.5, 0.6], [0.55, 0.65, 0.2, 0.9, 0.1]),
    ([10.0, 10.1, 9.9], [10.0, 10.05, 9.95]),
    ([0.1, 0.2], [0.9, 0.8]),
])
def test_ttest_against_scipy(a, b):
    t, p = ttest_ind(a, b)
    expected = scipy_stats.ttest_ind(a, b)
    assert t == pytest.approx(expected.statistic, rel=1e-10)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


def test_ttest_degenerate_like_scipy():
    assert ttest_ind([1, 1, 1], [2, 2, 2]) == (-math.inf, 0.0)
    assert all(math.isnan(x) for x in ttest_ind([1, 1], [1, 1]))
    assert all(math.isnan(x) for x in ttest_ind([1], [2]))
    assert all(math.isnan(x) for x in ttest_ind([], [1, 2, 3]))


def test_paired_difference_against_scipy():
    a = {1: 0.72, 2: 0.75, 3: 0.70, 4: 0.69, 5: 0.8}
    b = {1: 0.89, 2: 0.80, 3: 0.87, 4: 0.88, 6: 0.1}
    result = paired_difference(a, b)
    differences = [a[i] - b[i] for i in (1, 2, 3, 4)]
    assert result['runs'] == [1, 2, 3, 4]
    assert result['mean'] == pytest.approx(np.mean(differences), abs=1e-15)
    assert result['se'] == pytest.approx(np.std(differences, ddof=1)/2, abs=1e-15)
    expected = scipy_stats.ttest_rel([a[i] for i in (1, 2, 3, 4)], [b[i] for i in (1, 2, 3, 4)])
    assert result['p_value'] == pytest.approx(expected.pvalue, rel=1e-9)


def test_compare_series_uses_defined_runs(series_a, tmp_path):
    other = tmp_path/'other'
    for run, finals in ((1, [5, 5, 2]), (2, [4, 1, 1]), (3, [5, 5, 5])):
        for index, final in enumerate(finals): write(other/f'evaluations_{run}'/f'0_{index}.json', evaluation(final, [final]))
    a, b = series_stats(series_a, bootstrap=0), series_stats(other, bootstrap=0)
    comparison = compare_series(a, b)
    expected = scipy_stats.ttest_ind([4/7, 3/7, 2/7], [2/3, 1/3, 1])
    assert comparison['pass_rate']['p_value'] == pytest.approx(expected.pvalue, rel=1e-9)
    # bad task rate: a has NaN in run 4, so only 2 values go into the t-test
    expected = scipy_stats.ttest_ind([0.5, 0.2], [1/3, 2/3, 0])
    assert comparison['bad_task_rate']['p_value'] == pytest.approx(expected.pvalue, rel=1e-9)
    # paired: runs 1 and 2 only (a has no run 3, b no run 4)
    assert comparison['pass_rate']['paired']['runs'] == [1, 2]
    assert comparison['pass_rate']['paired']['mean'] == pytest.approx(((4/7 - 2/3) + (3/7 - 1/3))/2, abs=1e-15)


def test_report_formats(series_a, tmp_path):
    table = stats_report([str(series_a)], bootstrap=0)
    assert [cell.strip() for cell in table.splitlines()[0].split('|')[1:-1]] == ['series', 'pass_rate', 'bad_task_rate',
                                                                                'completion_rate']
    assert table.splitlines()[2].endswith('| 0.43 ± 0.08 | 0.35 ± 0.15   | 0.57 ± 0.16     |')
    csv = stats_report([str(series_a)], format='csv', bootstrap=0).splitlines()
    assert csv == ['series,pass_rate,bad_task_rate,completion_rate', f'{series_a},0.43 ± 0.08,0.35 ± 0.15,0.57 ± 0.16']
    with pytest.raises(AgentsimError, match='--format'): stats_report([str(series_a)], format='xml')


# ---- the command ----

def run(*args, cwd=None):
    return subprocess.run(['agentsim_stats', *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_cli_json(series_a, tmp_path):
    empty = tmp_path/'empty'
    (empty/'evaluations_1').mkdir(parents=True)
    result = run(series_a, empty, '--format', 'json', '--num_requests', '7', '--bootstrap', '200')
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert [s['series'] for s in parsed] == [str(series_a), str(empty)]
    first = parsed[0]
    assert set(first) >= {'series', 'runs', 'pass_rate', 'bad_task_rate', 'completion_rate', 'pass_hat_k', 'bootstrap_ci',
                          'by_condition', 'by_kind'}
    assert set(first['pass_rate']) == {'mean', 'se', 'values'}
    assert first['bad_task_rate']['values'][2] is None  # NaN -> null
    assert parsed[1]['bad_task_rate'] == {'mean': None, 'se': None, 'values': [None]}
    assert first['pass_rate']['mean'] == pytest.approx(3/7)
    assert len(first['bootstrap_ci']['pass_rate']) == 2
    stderr = result.stderr.splitlines()
    assert f'{series_a}: runs found: 1, 2, 4' in stderr
    assert sum(line.startswith('skipped ') for line in stderr) == 4 and 'Traceback' not in result.stderr


def test_cli_ttest(series_a, tmp_path):
    other = tmp_path/'other'
    for run_number in (1, 2):
        write(other/f'evaluations_{run_number}'/'0_0.json', evaluation(5))
    result = run('series_a', 'other', '--ttest', 'series_a', 'other', '--bootstrap', '0', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 't-test series_a vs other' in result.stdout
    assert any(line.startswith('| pass_rate ') for line in result.stdout.splitlines()[5:])
    as_json = json.loads(run('series_a', 'other', '--ttest', 'series_a', 'other', '--format', 'json', '--bootstrap', '0',
                             cwd=tmp_path).stdout)
    assert set(as_json) == {'series', 'ttest'} and as_json['ttest']['pass_rate']['paired']['runs'] == [1, 2]


def test_cli_plot(series_a, tmp_path):
    out = tmp_path/'plots'/'stats.png'
    out.parent.mkdir()
    result = run(series_a, '--plot', out, '--bootstrap', '0')
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('flags, message', [
    (['--threshold', '0'], 'error: --threshold must be a rating from 1 to 5, got 0'),
    (['--threshold', '6'], 'error: --threshold must be a rating from 1 to 5, got 6'),
    (['--num_requests', '0'], 'error: --num_requests must be at least 1, got 0'),
    (['--format', 'xml'], "error: --format must be table, json or csv, got 'xml'"),
    (['--bootstrap', '-5'], 'error: --bootstrap must be 0 (no intervals) or more resamples, got -5'),
    (['--ttest', 'a', 'b'], 'error: --ttest a: not one of the series given'),
])
def test_cli_bad_flags(series_a, flags, message):
    result = run(series_a, *flags)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert result.stdout == ''


def test_cli_bad_directories(tmp_path):
    for directory, message in ((tmp_path/'nope', 'no such directory'), (tmp_path, 'no evaluations_<i> directories in it')):
        result = run(directory)
        assert result.returncode == 2 and 'Traceback' not in result.stderr
        assert result.stderr.strip().startswith(f'error: series {directory}: {message}')
