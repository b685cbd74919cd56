"""A scripted stand-in for the original's fine-tuned planner behind llama.cpp's `POST /completion`, for tests only.

It is written from the original's description, not from agentsim's code: each expected prompt is given as the exact
text the original's models were trained on, and a request whose prompt, sampling settings or answer schema differ
gets HTTP 400 with the reason (which agentsim reports as an error, so the test fails with it).
"""
import json, threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from fault_server import BackgroundServer

PLAN_KEYS = ['context_information_summary', 'thoughts', 'task', 'selected_tool']


def mistral_turn(user_text: str) -> str:
    "One user turn in the Mistral instruct format; llama.cpp's tokenizer adds the `<s>` itself."
    return f'[INST] {user_text} [/INST]'


class OriginalPlannerServer(BackgroundServer):
    "Answers each request with the next scripted plan if its prompt is byte for byte the next expected one."
    def __init__(self):
        self.expected, self.bodies, self.problems = deque(), [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            disable_nagle_algorithm = True  # headers and body go out in two writes: without this, delayed ACKs add 40 ms
            def log_message(self, *args): return None

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))) or b'{}')
                server.bodies.append(body)
                if self.path != '/completion': return self._send(404, {'error': f'no endpoint {self.path}'})
                if not server.expected: return self._send(400, {'error': 'no request was expected'})
                prompt, plan = server.expected.popleft()
                problem = server.check(body, prompt)
                if problem:
                    server.problems.append(problem)
                    return self._send(400, {'error': problem})
                self._send(200, {'content': json.dumps(plan), 'tokens_evaluated': len(prompt) // 4,
                                 'tokens_predicted': 40, 'stop_type': 'eos'})

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def check(body: dict, prompt: str) -> str | None:
        "Why `body` is not what the original's planner was sent, or None."
        if body.get('prompt') != prompt:
            return f'prompt differs: expected {prompt!r}, got {body.get("prompt")!r}'
        if body.get('temperature', 1) > 0: return f'not greedy: temperature {body.get("temperature")}'
        if body.get('repeat_penalty') != 1.1: return f'repeat_penalty {body.get("repeat_penalty")}, expected 1.1'
        if body.get('n_predict') != 512: return f'n_predict {body.get("n_predict")}, expected 512'
        schema = body.get('json_schema') or {}
        if list(schema.get('properties', {})) != PLAN_KEYS: return f'plan keys {list(schema.get("properties", {}))}'
        return None

    def expect(self, user_text: str, plan: dict):
        "The next request must carry this user turn; it is answered with `plan`."
        self.expected.append((mistral_turn(user_text), plan))
        return self
