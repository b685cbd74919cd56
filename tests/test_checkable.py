"""Checkable requests: the same files for a seed, answers that an independent computation confirms, the checker on
hand-written trajectories of every kind, bad input, and the acting tools' actions in a real run's sidecars."""
import datetime, json, random, re
from pathlib import Path
import pytest
from agentsim.checkable import (KINDS, EXPECTED_FILE, check_request, check_run, checked_success_rate, draw_requests,
                                load_expected, write_checkable_requests)
from agentsim.core import AgentsimError
from agentsim.formats import load_requests


def files_of(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_seed_always_writes_the_same_files(tmp_path):
    for name, seed in (('a', 3), ('b', 3), ('c', 4)): write_checkable_requests(tmp_path/name, 30, seed)
    assert files_of(tmp_path/'a') == files_of(tmp_path/'b')
    assert files_of(tmp_path/'a')[EXPECTED_FILE] != files_of(tmp_path/'c')[EXPECTED_FILE]
    assert sorted(files_of(tmp_path/'a')) == ['0.txt', '1.txt', '2.txt', '3.txt', EXPECTED_FILE]  # 15 single-step, 15 multi-step
    requests = load_requests(tmp_path/'a')
    assert requests.problems == [] and len(requests) == 30
    assert [len([r for r in requests if r.id.startswith(f'{stem}_')]) for stem in '0123'] == [15, 6, 6, 3]
    assert all(r.explanation for r in requests if not r.single_step)  # the multi-step format's note on the steps
    texts = [r.text for r in requests]
    assert len(set(texts)) == len(texts)


def test_kinds_are_drawn_in_turn_and_phrased_in_several_ways():
    drawn = draw_requests(90, 0, list(KINDS))
    assert [d.kind for d in drawn[:9]] == list(KINDS)
    for kind in KINDS:
        openings = {' '.join(d.text.split()[:2]) for d in drawn if d.kind == kind}
        assert len(openings) >= 2, (kind, openings)


# ---- the expected outcomes against an independent computation from the request's own words

def amount(text: str) -> float: return float(text.replace(',', ''))


def day(text: str) -> datetime.date:
    for form in ('%Y-%m-%d', '%d %B %Y', '%B %d, %Y'):
        try: return datetime.datetime.strptime(text, form).date()
        except ValueError: pass
    raise ValueError(text)


DATE = r'(\d{4}-\d\d-\d\d|\d{1,2} [A-Z][a-z]+ \d{4}|[A-Z][a-z]+ \d{1,2}, \d{4})'
NUM = r'(-?\d[\d,]*(?:\.\d+)?)'
FACTORS = {('km', 'miles'): 0.621371192, ('miles', 'kilometres'): 1.609344, ('kg', 'pounds'): 2.20462262,
           ('pounds', 'kilograms'): 0.45359237, ('litres', 'US gallons'): 0.264172052, ('inches', 'centimetres'): 2.54,
           ('feet', 'metres'): 0.3048}


def independent_answer(text: str):
    "The answer to a request, computed from its words alone (None for a phrasing this function does not read)."
    if m := re.search(rf'{NUM} (?:×|by|times) {NUM}[.?]$', text): return amount(m[1]) * amount(m[2])
    if m := re.fullmatch(r'Add up (.*)\.|What is the sum of (.*)\?|What do (.*) come to in total\?', text):
        return sum(amount(x) for x in re.findall(NUM, next(g for g in m.groups() if g)))
    if m := re.search(rf'What is {NUM} minus {NUM}\?|How much is {NUM} − {NUM}\?', text):
        a, b = [x for x in m.groups() if x]
        return amount(a) - amount(b)
    if m := re.search(rf'Subtract {NUM} from {NUM}', text): return amount(m[2]) - amount(m[1])
    if m := re.search(rf'{NUM} divided by {NUM}|Divide {NUM} by {NUM}', text):
        a, b = [x for x in m.groups() if x]
        return amount(a) / amount(b)
    if m := re.search(rf'{NUM}(?:%| percent) of {NUM}', text): return amount(m[1]) * amount(m[2]) / 100
    if m := re.search(rf'costs {NUM} EUR and is {NUM}% off|for a {NUM} EUR \w+ with a {NUM}% discount', text):
        price, off = [amount(x) for x in m.groups() if x]
        return price * (1 - off / 100)
    if m := re.search(rf'{NUM}(?:%| percent) tip on (?:a restaurant bill of )?{NUM} EUR', text):
        return amount(m[1]) * amount(m[2]) / 100
    if m := re.search(rf'from {NUM} EUR to {NUM} EUR|had {NUM} inhabitants and now has {NUM}', text):
        old, new = [amount(x) for x in m.groups() if x]
        return abs(new - old) / old * 100
    if m := re.search(rf'{NUM} (km|miles|kg|pounds|litres|inches|feet) (?:to|in) (\w+(?: \w+)?)', text) or \
            re.search(rf'How many (\w+(?: \w+)?) is {NUM} (\w+)', text):
        value, source, target = (m[1], m[2], m[3]) if m[1][0].isdigit() or m[1][0] == '-' else (m[2], m[3], m[1])
        return amount(value) * FACTORS[source, target]
    if m := re.search(rf'{NUM} °C', text): return amount(m[1]) * 1.8 + 32
    if m := re.search(rf'{NUM} °F', text): return (amount(m[1]) - 32) / 1.8
    if m := re.search(rf'How many days after {DATE} is {DATE}\?|If today is {DATE}, how many days is it until {DATE}\?', text):
        first, second = [day(x) for x in m.groups() if x]
        return (second - first).days
    if m := re.search(rf'(\d+) days after {DATE}\?|If today is {DATE}, what is the date in (\d+) days', text):
        days, start = (m[1], m[2]) if m[1] else (m[4], m[3])
        return (day(start) + datetime.timedelta(days=int(days))).isoformat()
    if m := re.search(rf'(\d+) weeks after {DATE}', text): return (day(m[2]) + datetime.timedelta(weeks=int(m[1]))).isoformat()
    return None


def shopping_answer(text: str) -> float:
    (n1, p1), (n2, p2) = re.findall(rf'(\d+) (?:pairs of )?\w+ at {NUM} EUR each', text)
    total = int(n1) * amount(p1) + int(n2) * amount(p2)
    if m := re.search(r'a (\d+) EUR note', text): return int(m[1]) - total
    if m := re.search(r'before (\d+)% VAT', text): return total * (1 + int(m[1]) / 100)
    return total / int(re.match(r'(\d+) friends', text)[1])


def email_amount(text: str) -> float:
    if m := re.search(rf'staying (\d+) nights at {NUM} EUR a night, and the train costs {NUM} EUR', text):
        return int(m[1]) * amount(m[2]) + amount(m[3])
    if m := re.search(rf'invoices: {NUM}, {NUM} and {NUM} EUR', text): return sum(amount(x) for x in m.groups())
    if m := re.search(rf'(\d+) of us shared a dinner bill of {NUM} EUR', text): return amount(m[2]) / int(m[1])
    m = re.search(rf'rent of {NUM} EUR goes up by {NUM}%', text)
    return amount(m[1]) * (1 + amount(m[2]) / 100)


def close(expected: dict, value) -> bool:
    if isinstance(value, str): return expected == {'date': value}
    return abs(expected['number'] - value) <= 1e-6 * max(1, abs(value))


def test_answers_match_an_independent_computation():
    checked = {kind: 0 for kind in KINDS}
    for item in draw_requests(900, 11, list(KINDS)):
        if item.kind == 'shopping_total': assert close(item.answer, shopping_answer(item.text)), item; checked[item.kind] += 1
        elif item.kind == 'email_total':
            assert close(item.actions[0]['body_contains'], email_amount(item.text)), item
            checked[item.kind] += 1
        elif item.answer is not None:
            value = independent_answer(item.text)
            assert value is not None, item.text  # every single-step phrasing is read
            assert close(item.answer, value), (item.text, item.answer, value)
            checked[item.kind] += 1
        else:
            action = item.actions[0]
            assert action['to' if action['tool'] == 'send_email' else 'name'] in item.text
            if item.kind == 'event_after':
                m = re.search(rf'(\d+) days after {DATE}|starts on {DATE}.*exactly (\d+) weeks', item.text)
                start, days = (m[2], int(m[1])) if m[1] else (m[3], 7 * int(m[4]))
                assert action['date'] == (day(start) + datetime.timedelta(days=days)).isoformat(), item
            elif item.kind == 'event': assert re.search(DATE, item.text) and day(re.search(DATE, item.text)[1]).isoformat() == action['date']
            checked[item.kind] += 1
    assert all(n >= 50 for n in checked.values()), checked


def test_conversions_and_percent_changes_have_their_tolerances():
    for item in draw_requests(400, 5, ['conversion', 'percentage']):
        if 'mile' in item.text or 'pound' in item.text or 'gallon' in item.text:
            assert item.answer['tolerance'] == pytest.approx(max(0.05, 0.01 * abs(item.answer['number'])), abs=1e-9)
        elif 'to the cent' in item.text or 'Round to the cent' in item.text:
            assert item.answer['tolerance'] in (0.0, 0.005)


# ---- the checker on hand-written trajectories of every kind

def finished(answer_text: str, *acted):
    "A finished trajectory and its sidecar: a step per `(tool, action or None)`, then the final answer."
    steps, meta = [], []
    for tool, action in acted:
        steps.append({'plan': {'task': 'do it', 'selected_tool': tool}, 'result': 'done'})
        meta.append({'step': len(steps), 'tool': tool, 'refused': action is None, **({'action': action} if action else {})})
    steps.append({'plan': {'task': 'answer', 'selected_tool': 'final_answer'}, 'result': answer_text})
    meta.append({'step': len(steps), 'tool': 'final_answer', 'refused': False})
    return steps, {'steps': meta}


def spellings(spec: dict) -> list[str]:
    "The expected value written the ways a model may write it."
    if 'date' in spec:
        d = datetime.date.fromisoformat(spec['date'])
        return [d.isoformat(), f'{d.day} {d:%B %Y}', f'{d:%B} {d.day}, {d.year}', f'{d:%A}, {d.day}th of {d:%B}, {d.year}']
    v = round(spec['number'], 2)
    english = f'{v:,.2f}'
    european = english.replace(',', ' ').replace('.', ',')
    unit = {'miles': ' miles', 'km': ' km', 'lb': ' lbs', 'kg': ' kg', 'gallons': ' gallons', 'cm': ' cm',
            'metres': ' m', '°F': '°F', '°C': ' °C'}.get(spec.get('unit'), ' EUR')
    return [f'{english}{unit}', f'{v:.2f}', f'{european}{unit}', english.replace(',', '').rstrip('0').rstrip('.')]


def wrong(spec: dict) -> str:
    if 'date' in spec: return (datetime.date.fromisoformat(spec['date']) + datetime.timedelta(days=1)).isoformat()
    return f"{spec['number'] + max(1.0, 3 * spec['tolerance'] + 0.1) :.2f}"


def record(item, i=0) -> dict:
    return {'id': f'9_{i}', 'request': item.text, 'answer': item.answer, 'actions': item.actions}


def test_final_answers_pass_in_any_spelling_and_fail_when_wrong():
    for i, item in enumerate(draw_requests(90, 7, ['arithmetic', 'percentage', 'conversion', 'date_difference', 'shopping_total'])):
        expected = record(item, i)
        for text in spellings(item.answer):
            check = check_request(expected, *finished(f'The answer is {text}.'))
            assert check.passed, (item.text, text, check)
        check = check_request(expected, *finished(f'The answer is {wrong(item.answer)}.'))
        assert check.passed is False and check.reason.startswith('final answer'), (item.text, check)
        assert check_request(expected, [], None).reason == 'not finished: the trajectory is empty'


def test_a_conversion_in_the_wrong_unit_fails():
    item = next(d for d in draw_requests(200, 1, ['conversion']) if d.answer['unit'] == 'miles')
    value = item.answer['number']
    assert check_request(record(item), *finished(f'That is {value:.1f} miles.')).passed
    failed = check_request(record(item), *finished(f'That is {value:.1f} km.'))
    assert failed.passed is False and 'is given in km, not miles' in failed.reason


def email(to, subject, body): return ('send_email', {'tool': 'send_email', 'to': to, 'subject': subject, 'body': body})
def event(name, date, time): return ('create_event', {'tool': 'create_event', 'name': name, 'date': date, 'time': time})


def test_emails_are_checked_by_recipient_subject_and_body():
    for i, item in enumerate(draw_requests(40, 3, ['email_total', 'email_value'])):
        want = item.actions[0]
        value = spellings(want['body_contains'])[2]  # the European spelling, or a written-out date
        good = email(want['to'].upper(), f"Re: {want['subject'].lower()}!", f'Hello, here it is: {value}. Best')
        assert check_request(record(item, i), *finished('Done.', good)).passed, (item.text, good)
        bad_cases = {'recipient': email('someone@example.com', want['subject'], value),
                     'subject': email(want['to'], 'Hello', value),
                     'body': email(want['to'], want['subject'], f"It is {wrong(want['body_contains'])}.")}
        for what, bad in bad_cases.items():
            check = check_request(record(item, i), *finished('Done.', bad))
            assert check.passed is False, (what, item.text, check)
        assert check_request(record(item, i), *finished('Sent!', ('send_email', None))).reason == 'no email was sent'
        twice = check_request(record(item, i), *finished('Done.', good, good))
        assert twice.passed is False and twice.reason.startswith('a second email')


def test_events_are_checked_by_name_date_and_time():
    for i, item in enumerate(draw_requests(40, 4, ['event', 'event_after'])):
        want = item.actions[0]
        d = datetime.date.fromisoformat(want['date'])
        good = event(f"{want['name']} appointment", f'{d:%B} {d.day}, {d.year}', want['time'] or '18:00')
        assert check_request(record(item, i), *finished('Done.', good)).passed, (item.text, good)
        later = (d + datetime.timedelta(days=1)).isoformat()
        bad_cases = [event('Something else', want['date'], want['time']), event(want['name'], later, want['time'])]
        if want['time']: bad_cases.append(event(want['name'], want['date'], '23:59'))
        for bad in bad_cases: assert check_request(record(item, i), *finished('Done.', bad)).passed is False, (item.text, bad)
        missing = check_request(record(item, i), *finished('Done.'))
        assert missing.reason == 'no event was created'


def test_a_side_effect_nobody_asked_for_fails_a_computation():
    item = draw_requests(1, 0, ['arithmetic'])[0]
    answer = f"It is {item.answer['number']:.2f}."
    assert check_request(record(item), *finished(answer)).passed
    check = check_request(record(item), *finished(answer, email('ana@example.com', 'Result', answer)))
    assert check.passed is False and check.reason == 'unexpected email "Result" to ana@example.com'


# ---- a whole run

def save(directory: Path, request_id: str, steps: list, meta: dict | None):
    directory.mkdir(parents=True, exist_ok=True)
    (directory/f'{request_id}.json').write_text(json.dumps(steps))
    if meta is not None:
        (directory/'meta').mkdir(exist_ok=True)
        (directory/'meta'/f'{request_id}.json').write_text(json.dumps(meta))


def test_check_run_beside_generated_requests(tmp_path):
    requests, run = tmp_path/'requests', tmp_path/'run'
    requests.mkdir()
    generated = {'topic': 'Travel', 'requests': [{'request': 'Plan a trip to Lyon.', 'explanation': 'search'}]}
    (requests/'1.txt').write_text('```json\n' + json.dumps(generated) + '\n```\n')
    write_checkable_requests(requests, 6, seed=0, kinds='arithmetic,email_value', first_batch=2)
    expected = load_expected(requests)
    assert sorted(expected) == ['0_0', '0_1', '0_2', '2_0', '2_1', '2_2']
    for request_id, item in expected.items():
        if request_id == '0_2': continue  # no trajectory: the request failed
        if request_id.startswith('0_'): save(run, request_id, *finished(f"It is {item['answer']['number']:,.2f}."))
        else:
            want = item['actions'][0]
            save(run, request_id, *finished('Sent.', email(want['to'], want['subject'], str(spellings(want['body_contains'])[0]))))
    save(run, '1_0', *finished('Lyon is lovely.'))
    save(run, '2_2', [], {'steps': []})  # ran out of steps
    checks = check_run(requests, run)
    assert list(checks) == ['0_0', '0_1', '0_2', '1_0', '2_0', '2_1', '2_2']
    assert {i: c.passed for i, c in checks.items()} == {'0_0': True, '0_1': True, '0_2': False, '1_0': None,
                                                       '2_0': True, '2_1': True, '2_2': False}
    assert checks['0_2'].reason == 'no trajectory: the request failed or was not run'
    assert checks['1_0'].reason == 'not checkable: no expected outcome'
    assert checked_success_rate(checks) == 4 / 6
    (run/'meta'/'2_0.json').unlink()
    assert check_run(requests, run)['2_0'].reason == 'no sidecar (meta/<id>.json): the actions cannot be read'
    first = expected['0_0']['request']
    (requests/'0.txt').write_text((requests/'0.txt').read_text().replace(first, first + ' Quickly, please.'))
    with pytest.raises(AgentsimError, match='the expected outcome of 0_0 is for another request'): check_run(requests, run)


def test_expected_outcomes_merge_by_concatenation(tmp_path):
    write_checkable_requests(tmp_path/'a', 7, seed=1)
    write_checkable_requests(tmp_path/'b', 7, seed=2, first_batch=5, single_stem='4')
    merged = tmp_path/'merged'
    merged.mkdir()
    for name in ('a', 'b'):
        for path in (tmp_path/name).glob('*.txt'): (merged/path.name).write_bytes(path.read_bytes())
    (merged/EXPECTED_FILE).write_text((tmp_path/'a'/EXPECTED_FILE).read_text() + (tmp_path/'b'/EXPECTED_FILE).read_text())
    assert sorted(load_expected(merged)) == sorted(r.id for r in load_requests(merged))
    (merged/EXPECTED_FILE).write_text((tmp_path/'a'/EXPECTED_FILE).read_text() * 2)
    with pytest.raises(AgentsimError, match='line 8: request 0_0 appears twice'): load_expected(merged)


# ---- bad input: one line naming the flag or file, exit 2, nothing written

def one_error_line(result, message):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith('error: ') and message in lines[0], result.stderr


@pytest.mark.parametrize('flags, message', [
    (['--num_requests=0'], '--num_requests must be at least 1, got 0'),
    (['--kinds=arithmetic,haiku'], "--kinds arithmetic,haiku: no template kind 'haiku'"),
    (['--first_batch=0'], '--first_batch must be at least 1'),
    (['--single_stem=x'], "--single_stem 'x'"),
    (['--first_batch=1', '--single_stem=1', '--num_requests=9'], '--single_stem 1: batch 1 would have the same file'),
])
def test_bad_flags_write_nothing(command, tmp_path, flags, message):
    out = tmp_path/'requests'
    one_error_line(command('agentsim_requests_checkable', f'--output_dir={out}', *flags), message)
    assert not out.exists()


def test_existing_files_are_never_overwritten(command, tmp_path):
    out = tmp_path/'requests'
    result = command('agentsim_requests_checkable', f'--output_dir={out}', '--num_requests=12')
    assert result.returncode == 0 and result.stderr.strip() == (
        f'checkable requests: 12 written to 0.txt (7), 1.txt (5); expected outcomes in {out/EXPECTED_FILE}')
    before = files_of(out)
    one_error_line(command('agentsim_requests_checkable', f'--output_dir={out}', '--num_requests=3', '--kinds=event'),
                   '1.txt exists already; choose another --first_batch or --single_stem')
    (out/'1.txt').unlink()  # a stale expected.jsonl still holds 1_*: no clash of ids either
    one_error_line(command('agentsim_requests_checkable', f'--output_dir={out}', '--num_requests=3', '--kinds=event'),
                   f'{out/EXPECTED_FILE}: already has an expected outcome for 1_0')
    assert files_of(out) == {k: v for k, v in before.items() if k != '1.txt'}
    added = command('agentsim_requests_checkable', f'--output_dir={out}', '--num_requests=3', '--kinds=event', '--first_batch=2')
    assert added.returncode == 0 and sorted(load_expected(out))[-3:] == ['2_0', '2_1', '2_2']


# ---- the real tools: the embedded model plays send_email, and its action lands in the sidecar

@pytest.mark.local_model
def test_the_embedded_models_email_lands_in_the_sidecar_and_passes_its_check(tmp_path):
    from scripted import ScriptedBackend, plan
    from agentsim.llm import LLM, RetryPolicy, get_llm
    from agentsim.planners import make_planner
    from agentsim.trajectories import TrajectoryRun
    seed = next(s for s in range(100) if 'door code' in draw_requests(1, s, ['email_value'])[0].text)
    write_checkable_requests(tmp_path/'requests', 1, seed, kinds='email_value')
    request = load_requests(tmp_path/'requests').requests[0]
    want = load_expected(tmp_path/'requests')[request.id]['actions'][0]
    # the planner is scripted (it selects send_email with the request as the task, then final_answer); the tools are real
    planner = make_planner('openai', LLM(ScriptedBackend([plan('send_email', request.text), plan('final_answer', 'Say it is sent')]),
                                         retry=RetryPolicy(retries=0)))
    tools = get_llm('local', cache=False)
    TrajectoryRun(planner, tools, tmp_path/'run', 0).run([request], 1, False)
    meta = json.loads((tmp_path/'run'/'meta'/f'{request.id}.json').read_text())
    assert [s['tool'] for s in meta['steps']] == ['send_email', 'final_answer']
    action = meta['steps'][0]['action']
    assert action['tool'] == 'send_email' and action['to'] == want['to'] and set(action) == {'tool', 'to', 'subject', 'body'}
    assert 'action' not in meta['steps'][1]  # final_answer does not act
    steps = json.loads((tmp_path/'run'/f'{request.id}.json').read_text())
    assert steps[0]['result'].startswith('Sent the email') and want['to'] in steps[0]['result']  # a string, as in the original
    check = check_run(tmp_path/'requests', tmp_path/'run')[request.id]
    assert check.passed, check
