"""The judge (agentsim.judge): its logic against a scripted judge model, agentsim_judge_check's table and bad input,
--judge_samples in agentsim_evaluate, and one run of the real embedded model."""
import json
import pytest
from fault_server import FaultServer
from agentsim import judge as J
from agentsim.evaluate import evaluate_trajectories
from agentsim.formats import Request, RunRecord
from agentsim.llm import get_llm
from agentsim.tools import Toolbox


def step(tool, task, result): return {'plan': {'task': task, 'selected_tool': tool}, 'result': result}
def final(answer): return step('final_answer', 'final_answer', answer)


def scripted(kind='question', formula='', reference='', shorts=(), valid=True):
    """A judge model that answers each of the judge's questions from this script (the question is told by its system
    prompt). Asked for the short answer of a text, it copies the text, or for the agent's answer gives `shorts` in turn."""
    turns = list(shorts)
    def answer(path, body):
        system = body['messages'][0]['content']
        if system == J.SHORT_SYSTEM:
            text = body['messages'][-1]['content'].split('Text: ', 1)[1]
            if turns and text != reference: return json.dumps({'answer': turns.pop(0) if len(turns) > 1 else turns[0]})
            return json.dumps({'answer': text[:80]})
        if system == J.KIND_SYSTEM: return json.dumps({'kind': kind})
        if system == J.FORMULA_SYSTEM: return json.dumps({'working': 'the values and the rule', 'expression': formula})
        if system == J.REFERENCE_SYSTEM: return json.dumps({'answer': reference})
        if system == J.VALIDITY_SYSTEM: return json.dumps({'valid': valid})
        return json.dumps({'steps': [], 'explanation': 'one-call judge', 'final_answer_rating': 5})
    return answer


def judge_with(server): return get_llm('openai:m', base_url=f'{server.url}/v1', cache=False)
def systems(server): return [r['body']['messages'][0]['content'] for r in server.requests]


def test_the_judge_computes_a_sum_itself_rather_than_trust_the_tool():
    "A tool's wrong sum repeated in the answer fails; the right sum passes though no tool returned it."
    request = Request('1_0', 'Calculate the sum of the numbers from 1 to 100.')
    with FaultServer(responder=scripted(kind='calculation', formula='sum(range(1, 101))')) as server:
        wrong = J.judge_trajectory(judge_with(server), request, [step('ask_user', 'What is the sum?', '101'), final('It is 101.')], Toolbox())
        right = J.judge_trajectory(judge_with(server), request, [final('The sum is 5,050.')], Toolbox())
    assert (wrong.evaluation['final_answer_rating'], right.evaluation['final_answer_rating']) == (2, 5)
    assert wrong.evidence['expected'] == 5050 and right.evidence['unsupported_numbers'] == [5050.0]
    assert list(wrong.evaluation) == ['steps', 'final_answer_rating', 'explanation']


def test_a_failed_email_claimed_as_sent_is_rated_1_without_asking_the_model_about_the_answer():
    request = Request('1_0', 'Email the notes to my team.')
    failed = step('send_email', 'Send the notes to the team', 'Error: no recipient')
    with FaultServer(responder=scripted(reference='The email could not be sent.')) as server:
        claimed = J.judge_trajectory(judge_with(server), request, [failed, final('I sent the notes to your team.')], Toolbox())
        asked = systems(server)
        admitted = J.judge_trajectory(judge_with(server), request, [failed, final('I could not send it: what is the address?')], Toolbox())
    assert claimed.evaluation['final_answer_rating'] == 1 and claimed.evidence['unfulfilled'] == ['send_email']
    assert asked == [] and claimed.calls == 0  # no model call at all
    assert admitted.evaluation['final_answer_rating'] == 4  # the tool refused, and the answer says so and asks
    assert claimed.evaluation['steps'][0]['result_rating'] == 1 and claimed.evaluation['steps'][0]['task_rating'] == 3


def test_an_open_ended_answer_is_never_compared_with_the_judges_own():
    request = Request('0_0', 'Suggest three ways to save money.')
    with FaultServer(responder=scripted(kind='open-ended', valid=True)) as server:
        judged = J.judge_trajectory(judge_with(server), request, [final('Cook at home, use coupons, walk.')], Toolbox())
    assert judged.evaluation['final_answer_rating'] == 5
    assert J.REFERENCE_SYSTEM not in systems(server) and J.SHORT_SYSTEM not in systems(server)
    with FaultServer(responder=scripted(kind='open-ended', valid=False)) as server:
        assert J.judge_trajectory(judge_with(server), request, [final('Money is a medium of exchange.')], Toolbox()).evaluation['final_answer_rating'] == 2


@pytest.mark.parametrize('short, rating', [('Canberra', 5), ('Sydney', 2)])
def test_a_fact_is_rated_by_the_short_answers_of_the_judges_own_answer_and_the_agents(short, rating):
    request = Request('0_0', 'What is the capital of Australia?')
    with FaultServer(responder=scripted(reference='The capital is Canberra.', shorts=(short,))) as server:
        judged = J.judge_trajectory(judge_with(server), request, [final('It is the seat of the federal government.')], Toolbox())
        prompts = [r['body']['messages'][-1]['content'] for r in server.requests]
    assert judged.evaluation['final_answer_rating'] == rating and judged.calls == 4
    assert 'federal' not in prompts[1]  # its own answer is written blind
    assert judged.evidence['short_answers'] == ['The capital is Canberra.', short]


def test_a_number_left_out_is_missing():
    request = Request('0_0', 'How many people live in Norway, and how many in Denmark?')
    with FaultServer(responder=scripted(reference='Norway has 5.5 million people and Denmark 5.9 million.')) as server:
        judged = J.judge_trajectory(judge_with(server), request, [final('About 5.5 million people live in Norway.')], Toolbox())
    assert (judged.evaluation['final_answer_rating'], judged.evidence['agreement']) == (3, 'missing')


def test_step_ratings_follow_the_rubric():
    request = Request('1_0', 'What is 25% of 640?')
    steps = [step('search_internet', 'Search the internet for specific or current information: prices, places, opening hours, news.', 'No results found.'),
             step('ask_user', 'What is 25% of 640?', '160'), step('ask_user', 'ask_user: what is 25% of 640', '160'),
             step('calculate_number', 'Population of Lyon', 'Error: not a calculation'), step('calculate_number', '25% of 640', '160'),
             final('25% of 640 is 160.')]
    with FaultServer(responder=scripted(kind='calculation', formula='25 / 100 * 640')) as server:
        ratings = J.judge_trajectory(judge_with(server), request, steps, Toolbox()).evaluation['steps']
    table = [(r['task_rating'], r['tool_rating'], r['result_rating']) for r in ratings]
    assert table == [(2, 5, 2), (5, 2, 5), (1, 2, 5), (5, 2, 1), (5, 5, 5)]  # the user asked for a sum: the wrong tool
    assert 'repeats step 2' in ratings[2]['explanation'] and 'search_internet' in ratings[0]['explanation']


def write_run(directory, trajectories):
    (directory/'requests').mkdir(parents=True)
    (directory/'trajectories').mkdir()
    requests = [{'request': text, 'explanation': '-'} for text, _ in trajectories]
    (directory/'requests'/'1.txt').write_text('```json\n' + json.dumps({'topic': 't', 'requests': requests}) + '\n```')
    for i, (_, steps) in enumerate(trajectories): (directory/'trajectories'/f'1_{i}.json').write_text(json.dumps(steps))


def test_judge_samples_keep_the_median_and_every_sample_in_the_sidecar(tmp_path):
    write_run(tmp_path, [('What is the capital of Australia?', [final('The capital is in the Australian Capital Territory.')])])
    with FaultServer(responder=scripted(reference='Canberra.', shorts=('Sydney', 'Canberra', 'Canberra'))) as server:
        counts = evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', judge_samples=3,
                                       llm='openai:m', base_url=f'{server.url}/v1', no_cache=True, progress=False, sample=2)
        temperatures = [r['body']['temperature'] for r in server.requests]
    assert counts['rated'] == 1
    assert json.loads((tmp_path/'evaluations'/'1_0.json').read_text())['final_answer_rating'] == 5
    meta = json.loads((tmp_path/'evaluations'/'meta'/'1_0.json').read_text())
    assert (meta['request_id'], meta['method'], meta['median_of']) == ('1_0', 'decomposed', 3)
    assert [s['final_answer_rating'] for s in meta['samples']] == [2, 5, 5]
    assert meta['samples'][0]['evidence']['agreement'] == 'different'
    assert temperatures[:4] == [0.0] * 4 and set(temperatures[4:]) == {J.SAMPLE_TEMPERATURE}
    record = RunRecord(tmp_path/'evaluations').read()
    assert (record['judge_method'], record['judge_samples'], record['judge_model']) == ('decomposed', 3, f'openai:m at {server.url}/v1')


def test_the_one_call_judge_stays_available(tmp_path):
    write_run(tmp_path, [('What is the capital of Australia?', [final('Sydney.')])])
    with FaultServer(responder=scripted()) as server:
        evaluate_trajectories(tmp_path/'requests', tmp_path/'trajectories', tmp_path/'evaluations', judge_method='single',
                              llm='openai:m', base_url=f'{server.url}/v1', no_cache=True, progress=False)
        assert server.count == 1
    assert json.loads((tmp_path/'evaluations'/'1_0.json').read_text())['explanation'] == 'one-call judge'
    assert RunRecord(tmp_path/'evaluations').read()['judge_method'] == 'single'


LINE = {'request': 'What is the capital of Australia?', 'trajectory': [final('Canberra.')], 'verdict': 'good', 'kind': 'wrong_fact'}
BAD_LABELS = {
    'not JSON': json.dumps(LINE) + '\n{"request": "x", ',
    'no trajectory': json.dumps(LINE) + '\n' + json.dumps({k: v for k, v in LINE.items() if k != 'trajectory'}),
    'no verdict': json.dumps(LINE) + '\n' + json.dumps({k: v for k, v in LINE.items() if k != 'verdict'}),
    'a verdict that is neither': json.dumps(LINE) + '\n' + json.dumps({**LINE, 'verdict': 'fine'}),
    'an empty file': '\n',
}


@pytest.mark.parametrize('problem', list(BAD_LABELS))
def test_judge_check_refuses_a_bad_labels_file_in_one_line(command, tmp_path, problem):
    labels = tmp_path/'labels.jsonl'
    labels.write_text(BAD_LABELS[problem])
    before = sorted(p.name for p in tmp_path.iterdir())
    finished = command('agentsim_judge_check', f'--labels={labels}', '--llm=openai:m', '--base_url=http://127.0.0.1:9/v1')
    assert finished.returncode == 2 and finished.stdout == ''
    assert len(finished.stderr.strip().splitlines()) == 1 and str(labels) in finished.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize('flags, named', [(['--judge_samples=0'], '--judge_samples'), (['--judge_method=vote'], '--judge_method')])
def test_evaluate_refuses_bad_judge_flags_before_writing(command, tmp_path, flags, named):
    write_run(tmp_path, [('What is the capital of Australia?', [final('Canberra.')])])
    finished = command('agentsim_evaluate', '--requests_dir=requests', '--trajectories_dir=trajectories', '--output_dir=evaluations',
                       '--llm=openai:m', '--base_url=http://127.0.0.1:9/v1', *flags)
    assert finished.returncode == 2 and named in finished.stderr and len(finished.stderr.strip().splitlines()) == 1
    assert not (tmp_path/'evaluations').exists()


def test_judge_check_prints_the_table_and_exits_1_below_min_accuracy(command, tmp_path):
    labels = tmp_path/'labels.jsonl'
    wrong = {**LINE, 'trajectory': [final('Sydney.')], 'verdict': 'defective'}
    labels.write_text(json.dumps(LINE) + '\n' + json.dumps(wrong) + '\n')
    with FaultServer(responder=scripted(reference='Canberra.', shorts=('Canberra',))) as server:  # reads every answer as Canberra
        args = ('agentsim_judge_check', f'--labels={labels}', '--llm=openai:m', f'--base_url={server.url}/v1')
        passing = command(*args, '--min_accuracy=0.5')
        failing = command(*args, '--min_accuracy=0.9')
    assert passing.returncode == 0 and failing.returncode == 1 and 'below --min_accuracy' in failing.stderr
    row = next(line for line in passing.stdout.splitlines() if line.startswith('| wrong_fact'))
    assert '| 0/1 | 1/1 | 0.50 | 5.00 | 5.00 |' in row


def test_the_shipped_calibration_set_has_pairs_for_every_kind_and_a_heldout_part():
    items = J.load_labels()
    assert len(items) >= 30 and {i.split for i in items} == {'tune', 'heldout'}
    for kind in {i.kind for i in items}:
        verdicts = {i.verdict for i in items if i.kind == kind}
        labelled = any(i.step_labels for i in items if i.kind == kind)
        assert verdicts == {'good', 'defective'} or labelled, kind


@pytest.mark.local_model
def test_the_embedded_model_judges_calibration_items():
    items = {i.id: i for i in J.load_labels()}
    chosen = [items['notes-bad'], items['australia-good'], items['weather-repeated']]
    judge = get_llm('local', cache=False)
    judged = J.rate_labels(judge, chosen)
    for judgement, item in zip(judged, chosen):
        evaluation = judgement.evaluation
        assert list(evaluation) == ['steps', 'final_answer_rating', 'explanation'] and 1 <= evaluation['final_answer_rating'] <= 5
        assert len(evaluation['steps']) == len(item.steps) - 1
    assert judged[0].evaluation['final_answer_rating'] == 1  # the failed email claimed as sent
    assert [s['task_rating'] for s in judged[2].evaluation['steps']] == [5, 1, 1]  # the repeated searches


def test_an_answer_with_every_number_of_the_judges_own_needs_no_comparison():
    request = Request('1_0', 'How high is Mont Blanc in metres and in feet?')
    with FaultServer(responder=scripted(reference='Mont Blanc is 4,806 metres, about 15,768 feet, high.')) as server:
        same = J.judge_trajectory(judge_with(server), request, [final('It is 4806 m (15,770 ft) high.')], Toolbox())
        short = J.judge_trajectory(judge_with(server), request, [final('It is 4,806 m high.')], Toolbox())
    assert (same.evaluation['final_answer_rating'], same.calls) == (5, 2)
    assert (short.evaluation['final_answer_rating'], short.calls) == (3, 4)  # a number missing: the short answers say so


def test_an_action_a_tool_reports_done_and_an_unknown_both_sides_say_need_no_comparison():
    sent = step('send_email', 'Send "Notes" to team@acme.com', 'Sent the email Notes to team@acme.com.')
    with FaultServer(responder=scripted(kind='action')) as server:
        done = J.judge_trajectory(judge_with(server), Request('1_0', 'Email the notes.'), [sent, final('I emailed the notes.')], Toolbox())
    with FaultServer(responder=scripted(reference='The hours are not known.')) as server:
        unknown = J.judge_trajectory(judge_with(server), Request('1_1', 'When does Chez Marie open?'),
                                     [step('search_internet', 'Chez Marie hours', 'No results found.'), final('I could not find its hours.')], Toolbox())
        invented = J.judge_trajectory(judge_with(server), Request('1_1', 'When does Chez Marie open?'),
                                      [step('search_internet', 'Chez Marie hours', 'No results found.'), final('It opens at 7:00.')], Toolbox())
    assert (done.evaluation['final_answer_rating'], done.calls) == (5, 0)  # the wording says action: no model call
    assert (unknown.evaluation['final_answer_rating'], unknown.calls) == (5, 2)
    assert (invented.evaluation['final_answer_rating'], invented.calls) == (2, 4)


def test_an_action_is_rated_from_the_tools_without_the_model():
    "An email the request asks for: sent to the address named, not sent at all, or sent to someone else."
    request = Request('1_0', 'Find the flight time from Lisbon to Madrid and email it to ana@example.com.')
    found = step('search_internet', 'Flight time Lisbon Madrid', 'About 1 hour 15 minutes.')
    to_ana = step('send_email', 'Send ana@example.com: the flight takes 1 h 15', 'Sent the email Flight to ana@example.com.')
    to_bob = step('send_email', 'Send bob@example.com: the flight takes 1 h 15', 'Sent the email Flight to bob@example.com.')
    with FaultServer(responder=scripted(kind='question')) as server:
        rate = lambda steps: J.judge_trajectory(judge_with(server), request, steps, Toolbox()).evaluation['final_answer_rating']
        ratings = [rate([found, to_ana, final('It takes 1 h 15; I emailed Ana.')]), rate([found, final('It takes 1 h 15.')]),
                   rate([found, to_bob, final('It takes 1 h 15; I emailed it.')]), rate([found, final('I could not send the email.')])]
        assert server.count == 0
    assert ratings == [5, 2, 2, 3]  # done; ignored; the wrong recipient; said not done without trying


def test_a_fact_the_answer_states_in_other_words_needs_no_comparison():
    request = Request('0_0', 'Who painted the Mona Lisa?')
    with FaultServer(responder=scripted(reference='Leonardo da Vinci painted the Mona Lisa.')) as server:
        same = J.judge_trajectory(judge_with(server), request, [final('It was painted by Leonardo da Vinci.')], Toolbox())
        other = J.judge_trajectory(judge_with(server), request, [final('Michelangelo painted it.')], Toolbox())
    assert (same.evaluation['final_answer_rating'], same.calls, same.evidence['kind_from']) == (5, 2, 'model')
    assert (other.evaluation['final_answer_rating'], other.calls) == (2, 4)


def test_a_request_whose_wording_gives_its_kind_skips_the_kind_question():
    with FaultServer(responder=scripted(kind='question', valid=True)) as server:
        judged = J.judge_trajectory(judge_with(server), Request('0_0', 'Suggest a name for my bakery.'), [final('Golden Crust.')], Toolbox())
        asked = systems(server)
    assert judged.evidence['kind'] == 'open-ended' and judged.evidence['kind_from'] == 'wording'
    assert asked == [J.VALIDITY_SYSTEM] and judged.evaluation['final_answer_rating'] == 5


def test_judge_check_output_keeps_every_rating_and_refuses_a_bad_path(command, tmp_path):
    labels = tmp_path/'labels.jsonl'
    labels.write_text(json.dumps(LINE) + '\n' + json.dumps({**LINE, 'trajectory': [final('Sydney.')], 'verdict': 'defective'}) + '\n')
    with FaultServer(responder=scripted(reference='Canberra.')) as server:
        args = ('agentsim_judge_check', f'--labels={labels}', '--llm=openai:m', f'--base_url={server.url}/v1')
        kept = command(*args, f'--output={tmp_path/"check.json"}')
        refused = command(*args, f'--output={tmp_path/"no-such-dir"/"check.json"}')
    check = J.load_judge_check(tmp_path/'check.json')
    assert kept.returncode == 0 and check['labels'] == 'labels.jsonl' and check['method'] == 'decomposed'
    assert [i['final_answer_rating'] for i in check['items']] == [5, 2] and J.judge_check_summary(check)['balanced accuracy'] == 1.0
    assert refused.returncode == 2 and '--output' in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
