"The README's performance table is rendered from bench/results/paper_scale.json: a change to either shows here."
import importlib.util, json, re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO/'bench'/'results'/'paper_scale.json'


def paper_scale():
    "bench/paper_scale.py as a module (bench/ is a folder of scripts, not a package)."
    spec = importlib.util.spec_from_file_location('paper_scale', REPO/'bench'/'paper_scale.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readmes_performance_table_is_the_simulations():
    figures = json.loads(FIGURES.read_text())
    assert paper_scale().readme_table(figures) in (REPO/'README.md').read_text()


def test_the_readme_quotes_the_simulations_goal_figures():
    readme, figures = (REPO/'README.md').read_text(), json.loads(FIGURES.read_text())
    assert paper_scale().readme_summary(figures) in readme, "the README's sentences on the goals are not the figures'"
    one_process = next(goal for goal in figures['goals'] if goal['mode'] == 'one process')
    quoted = re.search(r'at ([0-9.]+) ms per call it is ([0-9.]+)× the bare client', readme)
    assert quoted, "the sentence quoting agentsim's CPU per call against the bare client's is gone"
    assert (float(quoted[1]), float(quoted[2])) == (round(one_process['cpu_ms_per_call'][-1], 2),
                                                   round(one_process['cpu_ratio_to_bare'], 2))
    measured = re.search(r'(?i)measured\s+once\s+on\s+(\d{4}-\d{2}-\d{2})', readme)
    assert measured and measured[1] == figures['date'], 'the README does not give the date the figures were measured'


def test_the_figures_say_how_they_were_measured_and_name_no_machine_path():
    for path in (FIGURES, FIGURES.parent/'paper_scale-steps-1.json'):
        text = path.read_text()
        figures = json.loads(text)
        assert figures['cores'] >= 1 and len(figures['load_average']['start']) == len(figures['load_average']['end']) == 3
        assert {'one process'} <= {stage['mode'] for stage in figures['stages']}
        assert f"--steps {figures['steps_per_trajectory']}" in figures['command']
        assert not re.search(r'/(root|home|tmp|Users)/', text), f'{path.name}: a path of the machine that ran the simulation'


def test_the_readmes_ratings_sentence_is_the_simulations():
    "The ratings' calls and CPU per trajectory that the README quotes, from the figures file."
    readme, figures = ' '.join((REPO/'README.md').read_text().split()), json.loads(FIGURES.read_text())
    ratings = [s for s in figures['stages'] if s['mode'] == 'one process' and s['stage'] == 'ratings']
    largest = max(ratings, key=lambda s: s['requests'])
    assert len({s['calls'] for s in ratings}) == 1, 'the sentence says the judge made the same number of calls at every size'
    assert f"the judge made {largest['calls']} model calls at every size" in readme
    steps = figures.get('steps_per_trajectory', 1)
    assert (f"Its {largest['cpu_s']:.1f} s of CPU for {largest['requests']:,} trajectories of {steps} "
            f"step{'s' if steps > 1 else ''} are {1000 * largest['cpu_s'] / largest['requests']:.1f} ms each") in readme


def test_the_readmes_one_step_sentence_is_both_runs():
    "The sentence comparing one-step trajectories with the table's, rendered from both figures files."
    figures, one_step = json.loads(FIGURES.read_text()), json.loads((FIGURES.parent/'paper_scale-steps-1.json').read_text())
    assert one_step['steps_per_trajectory'] == 1 and figures['steps_per_trajectory'] > 1
    sentence = paper_scale().readme_steps(figures, one_step)
    assert sentence in (REPO/'README.md').read_text()
    assert f"{next(g for g in one_step['goals'] if g['mode'] == 'one process')['cpu_ratio_to_bare']:.2f}× the bare" in sentence
