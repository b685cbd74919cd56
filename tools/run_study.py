"""The original's two experiments at laptop scale, end to end, on the local models: writes `nbs/study/`.

    python tools/run_study.py            # every stage not done yet; a stage that finished is skipped
    STUDY_TEACHER=openai:gpt-4o python tools/run_study.py   # the same with another teacher (tools and judge too)

Stages, each with the library function behind the command of the same name:
1. requests for training (agentsim_requests_single / _multi) and, with another seed, for evaluation
2. teacher trajectories (agentsim_trajectories --direct_answer simple; STUDY_HINTS=on adds --hints), then ratings
3. the dataset (agentsim_package) and two fine-tunes of the student, prompt masked and not (agentsim_finetune)
4. four evaluation series of `STUDY_RUNS` runs each (agentsim_runs) on the single-step evaluation requests and the
   first `STUDY_EVAL_MULTI` requests of each evaluation batch: student zero-shot, student fine-tuned with and without
   masking, and the teacher, all with the teacher as tools and judge

Wall-clock seconds per stage go to `nbs/study/timings.json`; the adapters stay under agentsim's home (they are
models, not docs); their settings and loss histories are copied next to the outputs. `nbs/18_study.ipynb` reads
what this writes. Set STUDY_DIR to write elsewhere (a full-scale run, say).
"""
import json, os, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDY = Path(os.environ.get('STUDY_DIR', ROOT/'nbs'/'study'))
TEACHER = os.environ.get('STUDY_TEACHER', 'local:1.5b')
STUDENT = os.environ.get('STUDY_STUDENT', 'local')
HINTS = os.environ.get('STUDY_HINTS', 'off') == 'on'  # give the teacher the generator's step list (measured: no help)
SIZES = dict(train_single=int(os.environ.get('STUDY_TRAIN_SINGLE', 4)), train_batches=int(os.environ.get('STUDY_TRAIN_BATCHES', 2)),
             eval_single=int(os.environ.get('STUDY_EVAL_SINGLE', 2)), eval_batches=int(os.environ.get('STUDY_EVAL_BATCHES', 1)),
             eval_multi=int(os.environ.get('STUDY_EVAL_MULTI', 2)),  # of each batch, the first k requests are evaluated
             runs=int(os.environ.get('STUDY_RUNS', 2)), workers=int(os.environ.get('STUDY_WORKERS', 2)),
             max_steps=int(os.environ.get('STUDY_MAX_STEPS', 10)))


def timed(name: str, work, present=lambda: True, accumulate=False):
    "Run `work()` unless `name` is in timings.json and what it made is `present()`; record its seconds."
    # `accumulate`: the stage resumes (more evaluation runs), so its seconds add to those recorded before
    record = STUDY/'timings.json'
    timings = json.loads(record.read_text()) if record.exists() else {}
    if name in timings and present(): return print(f'{name}: done before ({timings[name]} s)', flush=True)
    start = time.monotonic()
    work()
    before = timings.get(name, 0) if accumulate else 0
    timings[name] = round(before + time.monotonic() - start, 1)
    record.write_text(json.dumps(timings, indent=2) + '\n')
    workers = STUDY/'workers.json'  # concurrency differs between stages when a study is resumed with other settings
    used = json.loads(workers.read_text()) if workers.exists() else {}
    workers.write_text(json.dumps({**used, name: SIZES['workers']}, indent=2) + '\n')
    print(f'{name}: {timings[name]} s', flush=True)


def main():
    from agentsim.core import agentsim_home
    from agentsim.evaluate import evaluate_trajectories
    from agentsim.finetune import FinetuneSettings, finetune
    from agentsim.generate import requests_multi, requests_single
    from agentsim.package import package_dataset
    from agentsim.runs import run_series
    from agentsim.trajectories import generate_trajectories
    STUDY.mkdir(parents=True, exist_ok=True)
    (STUDY/'settings.json').write_text(json.dumps({'teacher': TEACHER, 'student': STUDENT, 'hints': HINTS, **SIZES}, indent=2) + '\n')
    adapters = agentsim_home()/'study'/STUDY.name
    s = SIZES

    def requests(directory, single, batches, seed):
        requests_single(directory, single, llm=TEACHER, seed=seed)
        requests_multi(directory, batches, num_workers=s['workers'], llm=TEACHER, seed=seed, progress=False)
    timed('train requests', lambda: requests(STUDY/'requests', s['train_single'], s['train_batches'], 0))
    timed('eval requests', lambda: requests(STUDY/'eval-requests', s['eval_single'], s['eval_batches'], 1))
    def eval_set():
        "The evaluation requests: the single-step ones and the first `eval_multi` requests of each batch (ids kept)."
        out = STUDY/'eval-set'
        out.mkdir(exist_ok=True)
        for path in sorted((STUDY/'eval-requests').glob('*.txt')):
            data = json.loads(path.read_text().split('```json\n')[1].split('```')[0])
            if path.stem != '0': data['requests'] = data['requests'][:s['eval_multi']]
            (out/path.name).write_text('```json\n' + json.dumps(data, indent=2, ensure_ascii=False) + '\n```\n')
    timed('eval set', eval_set)
    timed('teacher trajectories', lambda: generate_trajectories(
        STUDY/'requests', STUDY/'teacher'/'trajectories', planner='openai', llm=TEACHER, direct_answer='simple',
        num_workers=s['workers'], seed=0, max_steps=s['max_steps'], hints=HINTS, progress=False))
    timed('ratings', lambda: evaluate_trajectories(STUDY/'requests', STUDY/'teacher'/'trajectories',
                                                   STUDY/'teacher'/'evaluations', s['workers'], llm=TEACHER, progress=False))
    timed('package', lambda: package_dataset(STUDY/'requests', STUDY/'teacher'/'trajectories', STUDY/'teacher'/'evaluations',
                                             STUDY/'dataset', validation_size=2, rating_threshold=4))
    for name, masked in (('masked', True), ('full', False)):
        out = adapters/name
        def train(out=out, masked=masked):
            shutil.rmtree(out, ignore_errors=True)
            finetune(FinetuneSettings(str(STUDY/'dataset'), str(out), base_model=STUDENT, completion_only=masked))
            copy = STUDY/f'finetune-{name}'
            copy.mkdir(exist_ok=True)
            for file in ('settings.json', 'loss_history.json'): shutil.copy(out/file, copy/file)
        # the adapters live on the machine that trained them: on another one, train again
        timed(f'fine-tune {name}', train, present=lambda out=out: (out/'adapter.gguf').is_file())
    series = {'student-zeroshot': dict(planner='zeroshot', planner_llm=STUDENT),
              'student-finetuned-masked': dict(planner='finetuned', planner_llm=f'local+lora:{adapters/"masked"}'),
              'student-finetuned-full': dict(planner='finetuned', planner_llm=f'local+lora:{adapters/"full"}'),
              'teacher': dict(planner='openai')}
    for name, planner in series.items():
        # raising STUDY_RUNS later adds the missing runs only: finished ones are skipped by run_series
        timed(f'evaluate {name}', lambda name=name, planner=planner: run_series(
            STUDY/'eval'/name, STUDY/'eval-set', runs=s['runs'], llm=TEACHER, num_workers=s['workers'],
            max_steps=s['max_steps'], progress=False, **planner),
              present=lambda name=name: (STUDY/'eval'/name/f'evaluations_{s["runs"]}').is_dir(), accumulate=True)


if __name__ == '__main__':
    sys.exit(main())
