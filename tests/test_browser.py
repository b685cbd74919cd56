"""The trajectory browser on runs the notebook does not show: two series' frames, a run's filters, a rated run written to
disk, and the two-run view in a narrow page. nbs/19_browser.ipynb tests the rest as it documents it."""
import json, sys
from pathlib import Path
import pytest
from agentsim.browser import (NO_MATCH, TrajectoryBrowser, load_series_trajectories, load_trajectories, step_frame,
                              trajectory_frame)

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO/'nbs'/'planner_eval'


def test_loader_reads_the_committed_runs():
    records = load_trajectories(RUNS/'prompted'/'trajectories_2', requests_dir=RUNS/'requests')
    assert [r['request_id'] for r in records] == ['0_0', '0_1', '0_2', '1_0', '1_1', '1_2']
    first, lyon = records[0], records[3]
    assert (first['kind'], first['finished'], first['final_answer_rating']) == ('single', True, 2)  # Sydney: the judge fails it
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



def test_filters_narrow_what_is_shown():
    browser = TrajectoryBrowser(RUNS, left='prompted/trajectories_2')
    browser.kind.value = 'multi'
    browser.tool.value = 'search_internet'
    assert list(browser.request.options) == ['1_0', '1_1', '1_2']
    assert browser.request.value == '1_0'
    shown = browser.view.value
    assert shown.count('. search_internet<br><i>search: ') == 3 and '<i>search: none</i>' in shown  # one found nothing
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
    assert list(browser.request.options) == ['0_2']  # of the direct answers, only the Mona Lisa's is rated 4 or more
    browser.status.value = 'finished'
    assert browser.request.value == '0_2' and 'final answer 5' in browser.view.value




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


def test_two_runs_side_by_side_fit_a_narrow_page(tmp_path):
    "In the docs' 648 px content column, each run's table wraps inside its own half: the columns never overlap."
    sys.path.insert(0, str(REPO/'tools'))
    from check_docs import chromium_path
    if chromium_path() is None: pytest.skip('needs the Debian package chromium')
    playwright = pytest.importorskip('playwright.sync_api')
    study = REPO/'nbs'/'study'/'eval'
    if not (study/'teacher'/'trajectories_1').is_dir(): pytest.skip('needs the committed study runs')
    runs = [run for run in ('teacher/trajectories_1', 'student-zeroshot/trajectories_1') if (study/run).is_dir()]
    browser = TrajectoryBrowser(study, left=runs[0], right=runs[-1])
    browser.status.value = 'finished'  # trajectories with their tasks and results: long text in every row
    page = tmp_path/'view.html'
    page.write_text(f'<html><body style="margin: 0"><div id="view" style="width: 648px; font: 16px sans-serif">'
                    f'{browser.view.value}</div></body></html>', encoding='utf-8')
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            tab = chromium.new_page(viewport={'width': 1280, 'height': 900})
            tab.goto(page.as_uri())
            halves = tab.evaluate("""Array.from(document.querySelectorAll('#view > div > div')).map(half => {
                const box = half.getBoundingClientRect();
                const widest = Math.max(...Array.from(half.querySelectorAll('table')).map(t => t.getBoundingClientRect().right));
                return {left: box.left, right: box.right, table_right: widest, scrolls: half.scrollWidth > half.clientWidth};
            })""")
        finally: chromium.close()
    assert len(halves) == 2 and halves[0]['right'] <= halves[1]['left']
    for half in halves:
        assert half['table_right'] <= half['right'] + 1 and not half['scrolls'], halves
