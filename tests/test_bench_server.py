"The fixed-latency server's simulated planner: `--steps` steps per trajectory, counted from agentsim's own scratchpad."
import importlib.util, itertools
from pathlib import Path
from agentsim.planners import request_prompt

REPO = Path(__file__).resolve().parent.parent


def server():
    "bench/fixed_latency_server.py as a module (bench/ is a folder of scripts, not a package)."
    spec = importlib.util.spec_from_file_location('fixed_latency_server', REPO/'bench'/'fixed_latency_server.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAN = {'type': 'object', 'properties': {'task': {'type': 'string'},
                                         'selected_tool': {'enum': ['search_internet', 'ask_user', 'final_answer']}}}


def planner_body(earlier: int) -> dict:
    "A planner's request after `earlier` steps, its user message built by agentsim's prompt builder."
    steps = [{'plan': {'task': f'task {k}', 'selected_tool': 'ask_user'}, 'result': f'result {k}'} for k in range(earlier)]
    return {'messages': [{'role': 'system', 'content': 'tools'}, {'role': 'user', 'content': request_prompt('a request', steps)}]}


def test_the_planner_takes_the_given_steps_then_answers():
    fls, counter = server(), itertools.count()
    tools = [fls.instance(PLAN, {}, counter, fls.earlier_steps(planner_body(k)), 3)['selected_tool'] for k in range(4)]
    assert tools == ['search_internet', 'ask_user', 'final_answer', 'final_answer']
    assert fls.instance(PLAN, {}, counter, 0, 1)['selected_tool'] == 'final_answer'  # --steps 1: final_answer at once


def test_schemas_without_final_answer_keep_their_first_value():
    fls = server()
    assert fls.instance({'enum': ['yes', 'no']}, {}, itertools.count(), 5, 3) == 'yes'
    assert fls.earlier_steps({'prompt': 'no scratchpad here'}) == 0
