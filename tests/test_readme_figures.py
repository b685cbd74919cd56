"The study figures the README quotes are computed from the committed study directory: a change to either shows here."
import re
from pathlib import Path
from agentsim.stats import compare_series, pipe_table, requests_frame, series_stats
from agentsim.study import results_table

REPO = Path(__file__).resolve().parent.parent
STUDY = REPO/'nbs'/'study'


def test_the_readmes_study_table_is_the_study_directorys():
    readme = (REPO/'README.md').read_text()
    assert pipe_table(results_table(STUDY)) in readme


def test_the_readmes_request_level_comparison_is_computed():
    readme = (REPO/'README.md').read_text()
    teacher, whole = (series_stats(STUDY/'eval'/name, bootstrap=0) for name in ('teacher', 'student-finetuned-full'))
    comparison = compare_series(teacher, whole)
    assert pipe_table(requests_frame(comparison)) in readme
    quoted = re.search(r'a\s+difference of ([0-9.]+) over (\d+) requests is not significant \(sign-flip p = ([0-9.]+)', readme)
    assert quoted, 'the sentence quoting the comparison is gone'
    difference, requests, p = float(quoted[1]), int(quoted[2]), float(quoted[3])
    assert (round(comparison['requests']['difference'], 2), comparison['requests']['requests']) == (difference, requests)
    assert round(comparison['requests']['sign_flip_p'], 2) == p


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
