"The study figures the README quotes are computed from the committed study directory: a change to either shows here."
import re
from pathlib import Path
from agentsim.stats import pipe_table, series_stats
from agentsim.study import comparisons_table, results_table, study_series

REPO = Path(__file__).resolve().parent.parent
LAPTOP = REPO/'nbs'/'laptop-study'


def test_the_readmes_study_tables_are_the_laptop_study_directorys():
    readme = (REPO/'README.md').read_text()
    assert pipe_table(results_table(LAPTOP)) in readme
    assert pipe_table(comparisons_table(LAPTOP)) in readme


def test_the_readmes_study_sentence_is_computed_from_the_series():
    "The figures of the sentence under the README's comparisons, recomputed from the series' files."
    readme = ' '.join((REPO/'README.md').read_text().split())
    found = {name: series_stats(path, bootstrap=0, name=name, num_requests=24) for name, path in study_series(LAPTOP).items()}
    student, teacher = found['student-finetuned-masked'], found['teacher']
    finished = round(sum(student['completion_rate']['values']) * student['num_requests'])
    right = {name: sum(cell['check'] for cell in s['checked']['cells']) for name, s in found.items()}
    assert f"it finished {finished} of its {student['num_requests'] * student['runs']} trajectories" in readme
    assert f"its pass rate by the judge was {student['pass_rate']['mean']:.2f}" in readme
    assert (f"right in {right['student-finetuned-masked']} of {len(student['checked']['cells'])} cells "
            f"(the teacher's in {right['teacher']})") in readme
    assert f"the judge passed {student['checked']['judge_passed_check_failed']} of its wrong checkable answers" in readme
    assert f"above the teacher's {teacher['pass_rate']['mean']:.2f}" in readme
    assert found['student-zeroshot']['completion_rate']['mean'] == 0  # "where the zero-shot student finished none"
    if 'student-finetuned-whole' in found:  # the masking comparison, once its second series is done
        row = comparisons_table(LAPTOP).set_index('comparison').loc['student-finetuned-masked - student-finetuned-whole']
        whole = found['student-finetuned-whole']
        assert f"the student's pass rate was {whole['pass_rate']['mean']:.2f} and its answers were right in {right['student-finetuned-whole']} of 24 checkable cells" in readme
        assert f"minus whole is {row['difference']} in pass rate (95% interval {row['95% CI (requests)']}, sign-flip p = {row['sign-flip p']})" in readme
        within = abs(float(row['difference'])) < float(row['detectable at 80% power'])
        assert f"{'within' if within else 'beyond'} the {row['detectable at 80% power']} that 24 requests detect" in readme
    else: assert 'minus whole is' not in readme


def test_the_readmes_judge_table_is_the_judge_checks():
    "The judge's calibration the README quotes, from the committed agentsim_judge_check files."
    import pandas as pd
    from agentsim.judge import judge_check_summary, load_judge_check
    names = ['holdout2-local-1.5b-decomposed', 'holdout2-local-1.5b-single', 'holdout2-local-decomposed']
    table = pd.DataFrame([judge_check_summary(load_judge_check(REPO/'nbs'/'judge_checks'/f'{name}.json')) for name in names])
    columns = ['judge', 'method', 'trajectories', 'balanced accuracy', 'caught', 'kept', 's / trajectory']
    assert pipe_table(table[columns]) in (REPO/'README.md').read_text()


def test_the_readmes_judge_audit_sentence_is_computed_from_the_audit_files():
    "The hand audit of the laptop study's judge that the README quotes: both readers' files and the study record."
    import json
    from agentsim.judge import audit_estimate, cohen_kappa, load_audit
    nbs = REPO/'nbs'
    first = load_audit(nbs/'audits'/'laptop-study-teacher.jsonl')
    second = first[['id', 'group']].merge(load_audit(nbs/'audits'/'laptop-study-teacher-second.jsonl').drop(columns='group'), on='id')
    dataset = json.loads((nbs/'laptop-study'/'meta'/'study.json').read_text())['dataset']
    estimates = [audit_estimate(labels, dataset['kept']) for labels in (first, second)]
    accuracy = [estimate['balanced accuracy'] for estimate in estimates]
    assert estimates[0]['dropped'] == dataset['dropped_for_rating']  # every dropped trajectory was read
    readme = ' '.join((REPO/'README.md').read_text().split())
    assert (f"Of {len(first)} trajectories (all {estimates[0]['dropped']} that the threshold dropped and "
            f"{estimates[0]['kept sample']} of the {dataset['kept']} it kept") in readme
    assert f'κ = {cohen_kappa(first.verdict, second.verdict):.2f}' in readme
    assert f'balanced accuracy is only {accuracy[0]:.2f} and {accuracy[1]:.2f}' in readme
