#!/usr/bin/env python3
"""Scenario-driven stomp.py client for Junction's end-to-end tests.

Usage: stomp_client.py '<scenario json>'   (or the JSON on stdin when no argument is given)

A scenario names the broker and lists steps, run in order:

    {"host": "127.0.0.1", "port": 61613, "timeout": 5,
     "ssl": {"ca_certs": "ca.pem", "cert_file": "client.pem", "key_file": "client-key.pem"},
     "steps": [
       {"op": "connect", "conn": "p", "version": "1.2", "headers": {"client-id": "x"},
        "login": "alice", "passcode": "secret"},
       {"op": "send", "conn": "p", "destination": "/queue/a", "bodies": ["m0", "m1"],
        "headers": {"persistent": "true"}, "transaction": "tx1"},
       {"op": "subscribe", "conn": "c", "destination": "/queue/a", "id": "s1",
        "ack": "client-individual", "headers": {"selector": "x = 1"}},
       {"op": "receive", "conn": "c", "count": 2, "quiet": 0.3, "as": "first"},
       {"op": "ack", "conn": "c", "bodies": ["m1"], "transaction": "tx1"},
       {"op": "nack", "conn": "c", "bodies": ["m0"]},
       {"op": "begin" | "commit" | "abort", "conn": "p", "transaction": "tx1"},
       {"op": "await_receipts", "conn": "p"},
       {"op": "disconnect", "conn": "p"}, {"op": "drop", "conn": "c"}
     ]}

Every frame that can carry a receipt asks for one, and the step waits for it, so a step's effect
on the broker is complete when the step ends. `send` may set `receipt_timeout` and
`allow_missing_receipt` to report receipts still missing after a short window instead of failing
(`await_receipts` then waits for them). Any step may set `"expect": "error"` to wait for the
broker's ERROR frame instead of a receipt; on `connect` it waits for the ERROR that refuses the
CONNECT and for the broker to close the connection (reported as `closed`). `drop` closes the socket
without DISCONNECT.

Output: one JSON object per line on stdout, one per step (`{"step": i, "op": ..., "as": label}`), then
`{"op": "end", "errors": [...]}`. With `ssl` every connection is TLS (stomp.py's set_ssl: the CA
to verify the broker with, and optionally a client certificate). Bodies are reported as `body` (UTF-8 text, or null when the
bytes are not UTF-8) and `body_b64`. On a failed step it prints `{"op": "fatal", ...}` and exits 1.
"""
import base64
import json
import queue
import sys
import threading
import time

import stomp


class ScenarioError(Exception):
    pass


def frame_json(frame):
    body = frame.body if isinstance(frame.body, bytes) else str(frame.body).encode('utf-8')
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError:
        text = None
    return {'cmd': frame.cmd, 'headers': dict(frame.headers), 'body': text,
            'body_b64': base64.b64encode(body).decode('ascii')}


class Recorder(stomp.ConnectionListener):
    """Collects what the broker sends on one connection: messages, receipts, errors."""

    def __init__(self):
        self.messages = queue.Queue()
        self.cond = threading.Condition()
        self.receipts = set()
        self.errors = []
        self.connected = None
        self.disconnected = False

    def on_disconnected(self):
        with self.cond:
            self.disconnected = True
            self.cond.notify_all()

    def on_connected(self, frame):
        self.connected = frame

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers.get('receipt-id'))
            self.cond.notify_all()

    def on_error(self, frame):
        with self.cond:
            self.errors.append(frame)
            self.cond.notify_all()

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True


class Client:
    """One stomp.py connection plus the messages it has received (for acks by body)."""

    def __init__(self, name, host, port, version, headers, timeout, login=None, passcode=None, refused=False, ssl=None):
        self.name = name
        self.version = version
        self.timeout = timeout
        self.rec = Recorder()
        cls = {'1.1': stomp.Connection11, '1.2': stomp.Connection12}[version]
        self.conn = cls([(host, port)], auto_decode=False, heartbeats=(0, 0), reconnect_attempts_max=1)
        self.conn.set_listener('recorder', self.rec)
        if ssl:
            self.conn.set_ssl(for_hosts=[(host, port)], **ssl)
        # Refused: no CONNECTED will come, so do not wait for one (the ERROR is waited for by the step).
        self.conn.connect(username=login, passcode=passcode, wait=not refused, headers=dict(headers or {}))
        self.received = []
        self.pending = []
        self._n = 0

    def rid(self):
        self._n += 1
        return '%s-rcpt-%d' % (self.name, self._n)

    def wait_receipt(self, rid, timeout=None):
        seen = len(self.rec.errors)
        ok = self.rec.wait(lambda: rid in self.rec.receipts or len(self.rec.errors) > seen,
                           self.timeout if timeout is None else timeout)
        if len(self.rec.errors) > seen:
            err = self.rec.errors[seen]
            raise ScenarioError('ERROR instead of RECEIPT %s: %s %s' % (
                rid, err.headers.get('message'), err.body.decode('utf-8', 'replace').strip()))
        return ok

    def wait_error(self, seen):
        if not self.rec.wait(lambda: len(self.rec.errors) > seen, self.timeout):
            raise ScenarioError('expected an ERROR frame on %s, none came' % self.name)
        return frame_json(self.rec.errors[seen])

    def find(self, body):
        """The latest received message with this body."""
        want = body.encode('utf-8')
        for frame in reversed(self.received):
            if frame.body == want:
                return frame
        raise ScenarioError('no message with body %r received on %s' % (body, self.name))

    def settle(self, nack, frame, tx, rid):
        h = frame.headers
        fn = self.conn.nack if nack else self.conn.ack
        if self.version == '1.2':
            fn(h['ack'], transaction=tx, receipt=rid)
        else:
            fn(h['message-id'], h['subscription'], transaction=tx, receipt=rid)


def body_bytes(step, i):
    if 'bodies_b64' in step:
        return base64.b64decode(step['bodies_b64'][i])
    return step['bodies'][i].encode('utf-8')


def run_step(clients, everyone, scenario, step):
    """Runs one step and returns what to report about it."""
    op = step['op']
    name = step.get('conn', 'default')
    timeout = scenario.get('timeout', 5)
    if op == 'connect':
        refused = step.get('expect') == 'error'
        c = Client(name, scenario.get('host', '127.0.0.1'), scenario['port'], step.get('version', '1.2'),
                   step.get('headers'), timeout, step.get('login'), step.get('passcode'), refused,
                   scenario.get('ssl'))
        everyone.append(c)
        if refused:
            error = c.wait_error(0)
            closed = c.rec.wait(lambda: c.rec.disconnected, timeout)
            return {'error': error, 'closed': closed, 'connected': None}
        clients[name] = c
        return {'connected': c.rec.connected.headers if c.rec.connected else None}
    c = clients.get(name)
    if c is None:
        raise ScenarioError('no connection %r' % name)
    expect_error = step.get('expect') == 'error'
    seen_errors = len(c.rec.errors)
    rid = c.rid()
    tx = step.get('transaction')
    out = {}

    if op == 'send':
        n = len(step['bodies_b64'] if 'bodies_b64' in step else step['bodies'])
        rids = []
        for i in range(n):
            hdrs = dict(step.get('headers') or {})
            if tx:
                hdrs['transaction'] = tx
            r = c.rid()
            rids.append(r)
            c.conn.send(step['destination'], body_bytes(step, i), headers=hdrs, receipt=r)
        if expect_error:
            return {'error': c.wait_error(seen_errors)}
        window = step.get('receipt_timeout', timeout)
        got = [r for r in rids if c.wait_receipt(r, window)]
        missing = [r for r in rids if r not in got]
        if missing and not step.get('allow_missing_receipt'):
            raise ScenarioError('no RECEIPT for %s' % missing)
        c.pending.extend(missing)
        return {'receipts': got, 'missing': missing}
    elif op == 'await_receipts':
        missing = [r for r in c.pending if not c.wait_receipt(r)]
        if missing:
            raise ScenarioError('no RECEIPT for %s' % missing)
        out = {'receipts': c.pending}
        c.pending = []
        return out
    elif op == 'subscribe':
        c.conn.subscribe(step['destination'], step['id'], ack=step.get('ack', 'auto'),
                         headers=dict(step.get('headers') or {}), receipt=rid)
    elif op == 'unsubscribe':
        c.conn.unsubscribe(step['id'], receipt=rid)
    elif op == 'receive':
        # Waits for `count` messages, then keeps listening `quiet` seconds to catch any extra.
        got = []
        deadline = time.monotonic() + step.get('timeout', timeout)
        while len(got) < step.get('count', 0):
            try:
                got.append(c.rec.messages.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        quiet_end = time.monotonic() + step.get('quiet', 0)
        while True:
            left = quiet_end - time.monotonic()
            if left <= 0:
                break
            try:
                got.append(c.rec.messages.get(timeout=left))
            except queue.Empty:
                break
        c.received.extend(got)
        return {'messages': [frame_json(f) for f in got]}
    elif op in ('ack', 'nack'):
        frames = [c.find(b) for b in step['bodies']]
        for f in frames[:-1]:
            r = c.rid()
            c.settle(op == 'nack', f, tx, r)
            if not c.wait_receipt(r):
                raise ScenarioError('no RECEIPT for %s %s' % (op.upper(), r))
        c.settle(op == 'nack', frames[-1], tx, rid)
    elif op == 'begin':
        c.conn.begin(transaction=tx, receipt=rid)
    elif op == 'commit':
        c.conn.commit(transaction=tx, receipt=rid)
    elif op == 'abort':
        c.conn.abort(transaction=tx, receipt=rid)
    elif op == 'disconnect':
        # stomp.py sends DISCONNECT with this receipt and returns once the broker answered and the
        # socket is closed; every earlier frame has been handled by then.
        c.conn.disconnect(receipt=rid)
        del clients[name]
        return {'receipt': rid in c.rec.receipts}
    elif op == 'drop':
        c.conn.transport.disconnect_socket()
        del clients[name]
        return {}
    else:
        raise ScenarioError('unknown op %r' % op)

    if expect_error:
        return {'error': c.wait_error(seen_errors)}
    if not c.wait_receipt(rid):
        raise ScenarioError('no RECEIPT for %s %s' % (op.upper(), rid))
    return out


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def main():
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    scenario = json.loads(raw)
    clients = {}  # open connections by name
    everyone = []  # every connection made, for the ERROR frames at the end
    status = 0
    try:
        for i, step in enumerate(scenario['steps']):
            try:
                result = run_step(clients, everyone, scenario, step)
            except Exception as e:  # reported to the test as a failed step, with its reason
                emit({'step': i, 'op': 'fatal', 'failed': step['op'], 'error': '%s: %s' % (type(e).__name__, e)})
                status = 1
                break
            emit(dict({'step': i, 'op': step['op'], 'conn': step.get('conn', 'default'), 'as': step.get('as')}, **result))
    finally:
        errors = [dict(frame_json(e), conn=c.name) for c in everyone for e in c.rec.errors]
        for c in clients.values():
            try:
                c.conn.transport.disconnect_socket()
            except Exception:  # best effort: the process is exiting anyway
                pass
        emit({'op': 'end', 'errors': errors})
    return status


if __name__ == '__main__':
    sys.exit(main())
