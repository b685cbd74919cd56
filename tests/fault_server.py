"""A scripted, fault-injecting model server on 127.0.0.1 for tests.

It speaks both APIs agentsim uses: OpenAI-compatible `POST /v1/chat/completions` and llama.cpp's native
`POST /completion`. Each request takes the next action from a queue; with the queue empty it answers with
`default_content`. Actions:

- ('ok', text)                 answer with this text
- ('cut', text)                answer with this text, marked as stopped by the token limit
- ('status', code[, retry])    HTTP error `code`, with a Retry-After header when `retry` is given
- ('hang', seconds)            wait, then answer normally (past the client timeout: the client gives up)
- ('drop',)                    close the connection without answering
- ('garbage',)                 HTTP 200 whose body is not JSON

With `fault_rate` > 0, a request that finds the queue empty gets a random fault (drawn with `seed`) from
RANDOM_FAULTS at that rate; `injected` counts them by kind. `responder(path, body)` may compute the normal answer.
"""

RANDOM_FAULTS = ['500', '429', 'hang', 'drop', 'garbage', 'truncated', 'not_json', 'schema', 'unknown_tool', 'empty']
import json, random, socket, threading, time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        "Clients that timed out or were killed reset their connections: expected here, so not printed."
        return None


class BackgroundServer:
    "Serves `self.httpd` on the thread `self._thread` for the length of a `with` block."
    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class FaultServer(BackgroundServer):
    def __init__(self, default_content='{"city": "Paris", "country": "France"}', fault_rate=0.0, seed=0,
                 responder=None, hang_seconds=1.5):
        self.default_content, self.fault_rate, self.responder = default_content, fault_rate, responder
        self.hang_seconds, self._rng, self.injected = hang_seconds, random.Random(seed), Counter()
        self.delay = 0.0  # seconds added to every answer (to make runs slow enough to interrupt)
        self.actions, self.requests, self._lock = deque(), [], threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            disable_nagle_algorithm = True  # headers and body go out in two writes: without this, delayed ACKs add 40 ms
            def log_message(self, *args): return None  # keep test output clean

            def do_GET(self):
                if self.path == '/health': return self._send(200, {'status': 'ok'})
                self._send(404, {'error': 'not found'})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))) or b'{}')
                with server._lock:
                    server.requests.append({'path': self.path, 'body': body, 'headers': {k.lower(): v for k, v in self.headers.items()}})
                    action = server.actions.popleft() if server.actions else server._random_action()
                if action[0] == 'ok' and action[1] is None: action = ('ok', server.normal_answer(self.path, body))
                time.sleep(server.delay)
                kind = action[0]
                if kind == 'status':
                    headers = {'Retry-After': str(action[2])} if len(action) > 2 else {}
                    return self._send(action[1], {'error': {'message': f'injected {action[1]}'}}, headers)
                if kind == 'drop':
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return None
                if kind == 'garbage': return self._send_raw(200, b'<html>not json</html>')
                if kind == 'hang':
                    time.sleep(action[1])
                    action = ('ok', server.normal_answer(self.path, body))
                return self._answer(action[1], cut_off=kind == 'cut')

            def _answer(self, text, cut_off):
                if self.path.startswith('/v1/chat/completions'):
                    return self._send(200, {
                        'id': 'chatcmpl-test', 'object': 'chat.completion', 'created': 0, 'model': 'test',
                        'choices': [{'index': 0, 'finish_reason': 'length' if cut_off else 'stop',
                                     'message': {'role': 'assistant', 'content': text}}],
                        'usage': {'prompt_tokens': 11, 'completion_tokens': 7, 'total_tokens': 18}})
                if self.path.startswith('/completion'):
                    return self._send(200, {'content': text, 'tokens_evaluated': 11, 'tokens_predicted': 7,
                                            'stop_type': 'limit' if cut_off else 'eos'})
                return self._send(404, {'error': 'not found'})

            def _send(self, code, payload, headers=None):
                self._send_raw(code, json.dumps(payload).encode(), headers, 'application/json')

            def _send_raw(self, code, data, headers=None, content_type='text/html'):
                self.send_response(code)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(data)))
                for name, value in (headers or {}).items(): self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _QuietServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _random_action(self):
        "With the queue empty: a random fault at `fault_rate`, else the normal answer (None: computed later)."
        if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate: return ('ok', None)
        kind = self._rng.choice(RANDOM_FAULTS)
        self.injected[kind] += 1
        return {'500': ('status', 500), '429': ('status', 429, 0), 'hang': ('hang', self.hang_seconds),
                'drop': ('drop',), 'garbage': ('garbage',), 'truncated': ('ok', self.default_content[:len(self.default_content) // 2]),
                'not_json': ('ok', 'Sorry, I cannot answer in JSON.'), 'schema': ('ok', '{"unexpected": true}'),
                'unknown_tool': ('ok', json.dumps({'context_information_summary': 'c', 'thoughts': 't', 'task': 'x',
                                                   'selected_tool': 'teleport', 'selected_action': 'teleport'})),
                'empty': ('ok', '')}[kind]

    def normal_answer(self, path, body):
        return self.responder(path, body) if self.responder else self.default_content

    def script(self, *actions):
        "Queue actions for the next requests."
        with self._lock: self.actions.extend(actions)
        return self

    @property
    def count(self): return len(self.requests)
