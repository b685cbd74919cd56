"""Checked success in agentsim_stats: checkable requests run through the agent, their outcomes checked by script, and
the judge's verdicts compared with the checks."""
import json
import pytest
from fault_server import FaultServer
from agentsim.checkable import load_expected, write_checkable_requests
from agentsim.formats import RunRecord, save_evaluation
from agentsim.stats import series_stats, stats_report
from agentsim.trajectories import generate_trajectories


def responder(expected: dict):
    "Plans go straight to final_answer; the final answer is right for even request indices and off by 100 for odd ones."
    def answer(path, body):
        messages = json.dumps(body.get('messages'))
        schema = ((body.get('response_format') or {}).get('json_schema') or {}).get('schema')
        if schema: return json.dumps({'user_request': 'u', 'context_information_summary': 'c', 'thoughts': 't',
                                      'missing_information_or_action': 'm', 'task': 'answer', 'selected_tool': 'final_answer'})
        for request_id, record in expected.items():
            if json.dumps(record['request'])[1:-1] in messages:
                number = record['answer']['number'] + (0 if int(request_id.split('_')[1]) % 2 == 0 else 100)
                return f'The result is {number:.2f}.'
        return 'I do not know.'
    return answer


@pytest.fixture
def checked_series(tmp_path, monkeypatch):
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    requests = tmp_path/'requests'
    write_checkable_requests(requests, 6, seed=3, kinds='arithmetic,percentage')
    expected = load_expected(requests)
    with FaultServer(responder=responder(expected)) as server:
        for run in (1, 2):
            trajectories = tmp_path/'series'/f'trajectories_{run}'
            generate_trajectories(requests, trajectories, seed=run, llm='openai:m', base_url=f'{server.url}/v1',
                                  direct_answer='simple', progress=False)
            evaluations = tmp_path/'series'/f'evaluations_{run}'
            for request_id in expected:  # a judge that passes everything
                save_evaluation(evaluations, request_id, {'steps': [], 'final_answer_rating': 5, 'explanation': 'fine'})
            RunRecord(evaluations).update(judge_model='a lenient judge', judge_method='test')
    return tmp_path/'series'


def test_checked_success_and_the_judges_agreement(checked_series):
    stats = series_stats(checked_series, bootstrap=0)  # the requests directory is the one the trajectories recorded
    checked = stats['checked']
    assert checked['values'] == [0.5, 0.5] and checked['checkable'] == 6
    assert checked['agreement'] == 0.5 and checked['judge_passed_check_failed'] == 6
    assert checked['judge_failed_check_passed'] == 0
    assert stats['pass_rate']['mean'] == 1.0  # the judge's pass rate says 1.0; the checks say 0.5
    report = stats_report([str(checked_series)], bootstrap=0)
    assert '0.50 ± 0.00 (6 requests)' in report and '0.50 (6 false passes, 0 false fails)' in report


def test_no_checked_rate_without_expected_outcomes(checked_series):
    (checked_series.parent/'requests'/'expected.jsonl').unlink()
    assert series_stats(checked_series, bootstrap=0)['checked'] is None


def test_agreement_on_finished_answers_leaves_out_what_both_fail(checked_series):
    "An unfinished trajectory fails its check and gets no rating: both fail it, which says nothing about the judge."
    odd = sorted(request_id for request_id in load_expected(checked_series.parent/'requests') if int(request_id.split('_')[1]) % 2)[0]
    (checked_series/'trajectories_2'/f'{odd}.json').write_text('[]')
    (checked_series/'evaluations_2'/f'{odd}.json').unlink()
    checked = series_stats(checked_series, bootstrap=0)['checked']
    assert checked['agreement'] == 7 / 12 and checked['finished_cells'] == 11
    assert checked['agreement_finished'] == 6 / 11
    assert 'on finished answers' in stats_report([str(checked_series)], bootstrap=0)
    assert '0.55 of 11' in stats_report([str(checked_series)], bootstrap=0)
