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
"""
import json, socket, threading, time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    def __init__(self, default_content='{"city": "Paris", "country": "France"}'):
        self.default_content = default_content
        self.actions, self.requests, self._lock = deque(), [], threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *args): return None  # keep test output clean

            def do_GET(self):
                if self.path == '/health': return self._send(200, {'status': 'ok'})
                self._send(404, {'error': 'not found'})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))) or b'{}')
                with server._lock:
                    server.requests.append({'path': self.path, 'body': body, 'headers': {k.lower(): v for k, v in self.headers.items()}})
                    action = server.actions.popleft() if server.actions else ('ok', server.default_content)
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
                    action = ('ok', server.default_content)
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

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def script(self, *actions):
        "Queue actions for the next requests."
        with self._lock: self.actions.extend(actions)
        return self

    @property
    def count(self): return len(self.requests)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
