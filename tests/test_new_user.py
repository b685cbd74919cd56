"""What a new user hits first, through the commands as a shell runs them: a dataset with nothing to train on is
refused, a requests directory that cannot be read is an error, one run's directory is a series, and the demo checks
its flags before it writes anything."""
import json
from pathlib import Path
from agentsim.formats import save_evaluation, save_trajectory

FINAL = {'plan': {'context_information_summary': 'c', 'thoughts': 't', 'task': 'answer', 'selected_tool': 'final_answer'},
         'result': 'Paris.'}


def one_run(directory: Path, ratings: dict) -> Path:
    "A run as agentsim_demo leaves it: requests/, trajectories/ and evaluations/."
    (directory/'requests').mkdir(parents=True)
    (directory/'requests'/'0.txt').write_text('```json\n' + json.dumps({'requests': [
        {'request': f'Question {i}?', 'topic': 't'} for i in range(len(ratings))]}) + '\n```')
    for request_id, rating in ratings.items():
        save_trajectory(directory/'trajectories', request_id, [FINAL] if rating else [], {'steps': []})
        if rating: save_evaluation(directory/'evaluations', request_id, {'steps': [], 'final_answer_rating': rating,
                                                                        'explanation': 'x'})
    (directory/'evaluations').mkdir(exist_ok=True)
    return directory


def package(command, directory: Path, *flags):
    return command('agentsim_package', f'--requests_dir={directory/"requests"}', f'--trajectories_dir={directory/"trajectories"}',
                   f'--evaluations_dir={directory/"evaluations"}', f'--output_dir={directory/"dataset"}', *flags)


def test_a_dataset_with_nothing_to_train_on_is_refused(command, tmp_path):
    run = one_run(tmp_path/'run', {'0_0': 5, '0_1': 4, '0_2': 2, '0_3': None})
    result = package(command, run)  # the default --validation_size 30 takes both kept trajectories
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert 'error: --validation_size 30 takes all 2 kept trajectories and leaves none to train on' in result.stderr
    assert not (run/'dataset').exists()
    result = package(command, run, '--validation_size=1')
    assert result.returncode == 0, result.stderr
    assert '2 trajectories kept, 1 dropped for rating, 1 unfinished' in result.stderr


def test_an_empty_evaluations_directory_gives_no_dataset(command, tmp_path):
    run = one_run(tmp_path/'run', {'0_0': None})
    result = package(command, run)
    assert result.returncode == 2 and 'error: no trajectory to package: 0 rated below the threshold, 1 unfinished' in result.stderr
    assert not (run/'dataset').exists()


def test_requests_that_cannot_be_read_stop_the_run(command, tmp_path):
    (tmp_path/'requests').mkdir()
    (tmp_path/'requests'/'1.txt').write_text('not json at all')
    result = command('agentsim_trajectories', f'--requests_dir={tmp_path/"requests"}', f'--output_dir={tmp_path/"out"}',
                     '--llm=openai:m', '--base_url=http://127.0.0.1:9/v1')
    assert result.returncode == 2 and 'no request could be read' in result.stderr and '1.txt' in result.stderr
    assert not (tmp_path/'out').exists()


def test_stats_reads_one_run_as_a_series_of_one(command, tmp_path):
    run = one_run(tmp_path/'agentsim-demo', {'0_0': 5, '0_1': 2})
    result = command('agentsim_stats', str(run))
    assert result.returncode == 0, result.stderr
    assert f'| {run} | 0.50 ± n/a' in result.stdout and 'pass rate 95% CI' in result.stdout and 'pass^1' in result.stdout


def test_the_demo_checks_its_flags_before_writing(command, tmp_path):
    result = command('agentsim_demo', f'--output_dir={tmp_path/"demo"}', '--num_workers=0')
    assert result.returncode == 2 and result.stderr.strip() == 'error: --num_workers must be at least 1, got 0'
    assert not (tmp_path/'demo').exists()
