"The trajectory browser driven without a browser: set widget values, click buttons, read the HTML it shows."
import json
from pathlib import Path
import ipywidgets as widgets
import pytest
from agentsim.browser import (NO_MATCH, TrajectoryBrowser, load_series_trajectories, load_trajectories, step_frame,
                              trajectory_frame)

RUNS = Path(__file__).resolve().parent.parent/'nbs'/'planner_eval'


def test_loader_reads_the_committed_runs():
    records = load_trajectories(RUNS/'prompted'/'trajectories_2', requests_dir=RUNS/'requests')
    assert [r['request_id'] for r in records] == ['0_0', '0_1', '0_2', '1_0', '1_1', '1_2']
    first, lyon = records[0], records[3]
    assert (first['kind'], first['finished'], first['final_answer_rating']) == ('single', True, 5)
    assert first['request'] == 'What is the capital of Australia?'
    assert (lyon['kind'], lyon['finished'], lyon['final_answer_rating']) == ('multi', False, None)
    assert [(s['tool'], s['condition']) for s in lyon['steps']] == [('search_internet', 'none'),
                                                                   ('search_internet', 'full'), ('search_internet', 'full')]


def test_frames_of_two_planners():
    records = [r for name in ('prompted', 'zeroshot') for r in load_series_trajectories(RUNS/name, RUNS/'requests')]
    trajectories = trajectory_frame(records)
    assert len(trajectories) == 2 * 3 * 6
    assert trajectories.groupby('series')['steps'].sum().to_dict() == {'prompted': 36, 'zeroshot': 36}
    tools = step_frame(records).groupby(['series', 'tool']).size()
    assert tools['zeroshot', 'send_email'] == 3 and tools['prompted', 'search_internet'] == 27


def test_one_run_steps_through_requests():
    browser = TrajectoryBrowser(RUNS, left='prompted/trajectories_1')
    assert isinstance(browser.view, widgets.HTML)
    assert browser.request.value == '0_0' and browser.previous.disabled
    browser.previous.click()  # already at the first request
    assert browser.request.value == '0_0'
    browser.next.click()
    assert browser.request.value == '0_1' and browser.position.value == '2 of 6'
    shown = browser.view.value
    assert '0_1' in shown and 'Convert 100 degrees Fahrenheit to Celsius.' in shown
    assert 'final_answer' in shown and 'final answer rated 5' in shown and 'final answer 5' in shown


def test_filters_narrow_what_is_shown():
    browser = TrajectoryBrowser(RUNS, left='prompted/trajectories_2')
    browser.kind.value = 'multi'
    browser.tool.value = 'search_internet'
    assert list(browser.request.options) == ['1_0', '1_1', '1_2']
    assert browser.request.value == '1_0'
    shown = browser.view.value
    assert shown.count('<td>search_internet</td>') == 3 and '<td>none</td>' in shown  # the search that found nothing
    assert 'not finished after 3 steps' in shown
    browser.next.click()
    browser.next.click()
    assert browser.request.value == '1_2' and browser.next.disabled
    browser.kind.value = 'any'
    browser.rating.value = 'unrated'
    assert list(browser.request.options) == ['1_0', '1_1', '1_2']
    browser.rating.value = 4  # still only trajectories that used search_internet: none was rated
    assert list(browser.request.options) == [] and NO_MATCH in browser.view.value
    browser.tool.value = 'final_answer'
    assert list(browser.request.options) == ['0_0', '0_1', '0_2']
    browser.status.value = 'finished'
    assert browser.request.value == '0_0' and 'final answer 5' in browser.view.value


def test_two_planners_side_by_side():
    browser = TrajectoryBrowser(RUNS, left='prompted/trajectories_1', right='zeroshot/trajectories_1')
    browser.request.value = '1_2'
    shown = browser.view.value
    assert 'prompted/trajectories_1' in shown and 'zeroshot/trajectories_1' in shown
    assert shown.count('<b>1_2</b>') == 2  # the same request in both columns
    prompted, zeroshot = shown.split('zeroshot/trajectories_1')
    assert 'search_internet' in prompted and 'send_email' not in prompted
    assert zeroshot.count('<td>send_email</td>') == 3
    browser.tool.value = 'send_email'  # only the zero-shot planner used it; both columns stay
    assert list(browser.request.options) == ['1_2'] and browser.view.value.count('<b>1_2</b>') == 2
    browser.right_run.value = ''  # the prompted run alone never emailed: the tool filter falls back to any tool
    assert browser.tool.value == 'any' and len(browser.request.options) == 6
    assert browser.request.value == '1_2' and browser.view.value.count('<b>1_2</b>') == 1


def test_a_filter_that_matches_nothing_says_so():
    browser = TrajectoryBrowser(RUNS, left='zeroshot/trajectories_3')
    browser.kind.value = 'single'
    browser.status.value = 'unfinished'
    assert browser.request.value is None and list(browser.request.options) == []
    assert 'no trajectories match' in browser.view.value.lower() and NO_MATCH in browser.view.value
    assert browser.next.disabled and browser.previous.disabled
    browser.next.click()
    assert browser.request.value is None
    browser.status.value = 'any'
    assert browser.request.value == '0_0' and '<b>0_0</b>' in browser.view.value


def test_step_ratings_and_refusals_are_shown(tmp_path):
    run = tmp_path/'series'/'trajectories_1'
    (run/'meta').mkdir(parents=True)
    (tmp_path/'series'/'evaluations_1').mkdir()
    steps = [{'plan': {'task': 'Create the <meeting>', 'selected_tool': 'create_event'}, 'result': 'I cannot.'},
             {'plan': {'task': 'Answer', 'selected_tool': 'final_answer'}, 'result': 'No meeting was made.'}]
    meta = {'finished': True, 'steps': [{'step': 1, 'tool': 'create_event', 'condition': None, 'refused': True},
                                        {'step': 2, 'tool': 'final_answer', 'condition': None, 'refused': False}]}
    ratings = {'steps': [{'task_rating': 4, 'tool_rating': 5, 'result_rating': 2, 'explanation': 'refused'}],
               'final_answer_rating': 3, 'explanation': 'honest'}
    (run/'1_0.json').write_text(json.dumps(steps))
    (run/'meta'/'1_0.json').write_text(json.dumps(meta))
    (tmp_path/'series'/'evaluations_1'/'1_0.json').write_text(json.dumps(ratings))
    browser = TrajectoryBrowser(tmp_path)
    shown = browser.view.value
    assert browser.left_run.value == 'series/trajectories_1' and browser.request.value == '1_0'
    assert 'task 4 · tool 5 · result 2' in shown and 'final answer 3' in shown
    assert 'create_event (refused)' in shown and 'Create the &lt;meeting&gt;' in shown
    browser.rating.value = 4
    assert NO_MATCH in browser.view.value


def test_bad_choices_are_errors():
    with pytest.raises(Exception, match='not a run directory'): TrajectoryBrowser(RUNS, right='prompted/trajectories_7')
    with pytest.raises(Exception, match='no run directories'): TrajectoryBrowser(RUNS/'requests')
