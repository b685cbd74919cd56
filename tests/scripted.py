"A scripted stand-in for a model, for tests only: plans come from a list, tool results are canned text."
import itertools, json
from agentsim.llm import Completion

_ids = itertools.count()


def plan(tool, task='do it', **extra):
    "A plan with every key any planner answers with (extra keys are ignored by the stricter schemas)."
    return {'user_request': 'r', 'context_information_summary': 's', 'missing_information_or_action': 'm',
            'thoughts': 't', 'task': task, 'selected_tool': tool, **extra}


class ScriptedBackend:
    def __init__(self, plans, tool_text='a result'):
        self.plans, self.tool_text, self.calls = list(plans), tool_text, []
        self.identity = {'backend': 'scripted', 'id': next(_ids)}

    def describe(self): return 'scripted model'

    def complete(self, messages, schema, temperature, max_tokens, seed, **options):
        self.calls.append({"messages": messages, "schema": schema, "seed": seed, **options})
        if schema is None: return Completion(self.tool_text, 5, 3)
        answer = dict(self.plans.pop(0) if self.plans else plan('final_answer'))
        keys = set(schema['properties'])
        if 'selected_action' in keys: answer['selected_action'] = answer.pop('selected_tool')
        return Completion(json.dumps({k: v for k, v in answer.items() if k in keys}), 20, 10)
