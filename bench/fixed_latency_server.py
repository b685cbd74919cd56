"""An OpenAI-compatible (and llama.cpp `/completion`) server that answers every request after a fixed latency.

It measures agentsim, not a model: each answer is a valid instance of the JSON schema the request carries, built
from the schema alone (every property filled, the highest allowed integer, strings made unique with a counter so
that generated requests are never duplicates). Where a planner chooses a tool, it chooses `final_answer` once the
prompt's scratchpad shows `--steps` − 1 earlier steps, and before that the tools other than `final_answer` in turn,
so that a trajectory has `--steps` steps (1 by default: `final_answer` at once) and two model calls per step, its
plan and its tool's answer. It runs as its own process so that the benchmark's CPU figures are agentsim's alone.

    python bench/fixed_latency_server.py --port 8765 --latency 1.0 --steps 3

`GET /stats` returns the number of requests, when the first arrived and when the last answer went out (seconds
since the epoch) and the most requests it was answering at once (`peak`); `GET /stats?reset=1` returns them and
starts counting afresh. `GET /bodies` returns the last 200 request bodies, for a client that sends the same JSON.
"""
import argparse, collections, itertools, json, re, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


EARLIER_STEP = re.compile(r'^\d+\. Task:', re.M)  # a step in the scratchpad of agentsim's prompts (`format_steps`)

def earlier_steps(body: dict) -> int:
    "How many earlier steps the last message's scratchpad shows."
    messages = body.get('messages') or [{'content': body.get('prompt', '')}]
    content = messages[-1].get('content') or ''
    return len(EARLIER_STEP.findall(content if isinstance(content, str) else json.dumps(content)))


def choice(enum: list, earlier: int, steps: int):
    "A tool choice: the other tools in turn for the first `steps` − 1 steps, then `final_answer`; else the first value."
    if 'final_answer' not in enum: return enum[0]
    others = [name for name in enum if name != 'final_answer']
    return others[earlier % len(others)] if others and earlier < steps - 1 else 'final_answer'


def instance(schema: dict, defs: dict, counter, earlier: int = 0, steps: int = 1) -> object:
    "A value that `schema` accepts; a tool choice after `earlier` steps of a trajectory of `steps`."
    def each(sub): return instance(sub, defs, counter, earlier, steps)
    if '$ref' in schema: return each(defs[schema['$ref'].rsplit('/', 1)[1]])
    for key in ('anyOf', 'oneOf', 'allOf'):
        if key in schema: return each(schema[key][0])
    if 'enum' in schema: return choice(schema['enum'], earlier, steps)
    if 'const' in schema: return schema['const']
    kind = schema.get('type', 'string')
    if isinstance(kind, list): kind = next(k for k in kind if k != 'null')
    if kind == 'object':
        return {name: each(sub) for name, sub in schema.get('properties', {}).items()}
    if kind == 'array':
        return [each(schema.get('items', {})) for _ in range(max(schema.get('minItems', 1), 1))]
    if kind in ('integer', 'number'): return schema.get('maximum', schema.get('minimum', 1))
    if kind == 'boolean': return True
    text = f'answer number {next(counter)}'
    return text + 'x' * max(schema.get('minLength', 0) - len(text), 0)


def schema_of(body: dict) -> dict:
    "The JSON schema of an OpenAI `response_format` or of llama.cpp's native `json_schema`."
    response_format = body.get('response_format') or {}
    return (response_format.get('json_schema', {}).get('schema') or response_format.get('schema')
            or body.get('json_schema') or {'type': 'string'})


def serve(port: int, latency: float, steps: int = 1):
    counter, lock, bodies = itertools.count(), threading.Lock(), collections.deque(maxlen=200)
    stats = {'requests': 0, 'first': None, 'last': None, 'in_flight': 0, 'peak': 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        disable_nagle_algorithm = True  # headers and body go out in two writes: without this, delayed ACKs add 40 ms
        def log_message(self, *args): return None

        def send_json(self, data: dict):
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header('content-type', 'application/json')
            self.send_header('content-length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            if self.path.startswith('/stats'):
                with lock:
                    current = dict(stats)
                    if self.path.endswith('reset=1'): stats.update(requests=0, first=None, last=None, peak=stats['in_flight'])
                return self.send_json(current)
            if self.path.startswith('/bodies'):
                with lock: return self.send_json({'bodies': list(bodies)})
            self.send_json({'status': 'ok'})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))) or b'{}')
            with lock:
                stats['requests'] += 1
                stats['in_flight'] += 1
                stats['peak'] = max(stats['peak'], stats['in_flight'])
                if stats['first'] is None: stats['first'] = time.time()
                bodies.append(body)
            schema = schema_of(body)
            value = instance(schema, schema.get('$defs', {}), counter, earlier_steps(body), steps)
            content = value if isinstance(value, str) and schema.get('type', 'string') == 'string' else json.dumps(value)
            time.sleep(latency)
            with lock:
                stats['last'] = time.time()
                stats['in_flight'] -= 1
            usage = {'prompt_tokens': 100, 'completion_tokens': 20, 'total_tokens': 120}
            if self.path.startswith('/completion'):
                return self.send_json({'content': content, 'tokens_evaluated': 100, 'tokens_predicted': 20,
                                       'stop_type': 'eos', 'timings': {}})
            self.send_json({'id': 'bench', 'object': 'chat.completion', 'created': int(time.time()), 'model': 'bench',
                            'choices': [{'index': 0, 'finish_reason': 'stop',
                                         'message': {'role': 'assistant', 'content': content}}],
                            'usage': usage})

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the listen backlog: hundreds of clients connect at once (the default, 5, resets them)
        daemon_threads = True

    Server(('127.0.0.1', port), Handler).serve_forever()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8765)
    parser.add_argument('--latency', type=float, default=1.0, help='seconds before each answer')
    parser.add_argument('--steps', type=int, default=1, help="a planner's steps per trajectory, the last final_answer")
    arguments = parser.parse_args()
    if arguments.steps < 1: parser.error('--steps: at least 1')
    serve(arguments.port, arguments.latency, arguments.steps)
