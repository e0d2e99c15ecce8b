"""AMQP 1.0 scenarios with python-qpid-proton (Debian's python3-qpid-proton), driven by
test/e2e/amqp-python.test.ts. Usage: amqp_proton.py PORT SCENARIO JSON_ARGS; prints one JSON
object on stdout. Every blocking call has a timeout, so a broker that does not answer fails the
scenario instead of hanging it."""
import base64
import json
import sys

from proton import Message, Delivery, symbol, Timeout
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container, DynamicNodeProperties, Selector
from proton.utils import BlockingConnection

from proton_common import ARGS, PORT, SCENARIO, TIMEOUT, URL, blocking, run  # noqa: E402,F401


def body_out(b):
    if isinstance(b, (bytes, bytearray, memoryview)):
        return {'bytes': base64.b64encode(bytes(b)).decode()}
    if isinstance(b, str):
        return {'text': b}
    return {'value': repr(b)}


def msg_out(m):
    return {
        'body': body_out(m.body),
        'id': str(m.id) if m.id is not None else None,
        'correlation_id': str(m.correlation_id) if m.correlation_id is not None else None,
        'subject': m.subject,
        'durable': m.durable,
        'priority': m.priority,
        'delivery_count': m.delivery_count,
        'properties': {k: (v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)) for k, v in (m.properties or {}).items()},
        'annotations': {str(k): repr(v) for k, v in (m.annotations or {}).items()},
        'content_type': str(m.content_type) if m.content_type else None,
        'group_id': m.group_id,
        'reply_to': m.reply_to,
        'address': m.address,
    }


def make_body(spec):
    if 'bytes' in spec:
        return base64.b64decode(spec['bytes'])
    if 'text' in spec:
        return spec['text']
    if 'map' in spec:
        return spec['map']
    if 'list' in spec:
        return spec['list']
    raise ValueError(spec)


def send():
    c = blocking()
    try:
        s = c.create_sender(ARGS['address'])
        for m in ARGS['messages']:
            msg = Message(body=make_body(m['body']), durable=m.get('durable', False), properties=m.get('properties'))
            if 'id' in m:
                msg.id = m['id']
            if 'priority' in m:
                msg.priority = m['priority']
            if 'subject' in m:
                msg.subject = m['subject']
            if 'content_type' in m:
                msg.content_type = m['content_type']
            if 'annotations' in m:
                msg.annotations = {symbol(k): v for k, v in m['annotations'].items()}
            s.send(msg, timeout=TIMEOUT)
        return {'sent': len(ARGS['messages'])}
    finally:
        c.close()


def receive():
    c = blocking(ARGS.get('container_id'))
    try:
        opts = None
        if ARGS.get('selector'):
            opts = Selector(ARGS['selector'])
        r = c.create_receiver(ARGS['address'], options=opts, credit=ARGS.get('count', 1))
        got = []
        for _ in range(ARGS.get('count', 1)):
            try:
                m = r.receive(timeout=ARGS.get('timeout', 5))
            except Timeout:
                break
            got.append(msg_out(m))
            outcome = ARGS.get('outcome', 'accept')
            if outcome == 'accept':
                r.accept()
            elif outcome == 'reject':
                r.reject()
            elif outcome == 'release':
                r.release(delivered=False)
            elif outcome == 'modify':
                # modified with delivery-failed (BlockingReceiver.release sets no flags)
                d = r.fetcher.unsettled.popleft()
                d.local.failed = True
                d.update(Delivery.MODIFIED)
                d.settle()
        return {'messages': got}
    finally:
        c.close()


def request_reply():
    """A dynamic reply queue: send a request with reply_to, a service on another connection replies."""
    client = blocking()
    service = blocking()
    try:
        replies = client.create_receiver(None, dynamic=True)
        reply_address = replies.link.remote_source.address
        requests = service.create_receiver(ARGS['service'])
        client.create_sender(ARGS['service']).send(Message(body='ping', reply_to=reply_address, correlation_id='c-1'), timeout=TIMEOUT)
        req = requests.receive(timeout=5)
        requests.accept()
        service.create_sender(None).send(Message(address=req.reply_to, body='pong', correlation_id=req.correlation_id), timeout=TIMEOUT)
        rep = replies.receive(timeout=5)
        replies.accept()
        return {'reply_address': reply_address, 'reply': msg_out(rep)}
    finally:
        client.close()
        service.close()


def durable_subscribe():
    """Attach a durable subscription (link name + container id), optionally receive, then detach or close."""
    c = blocking(ARGS['container_id'])
    try:
        from proton.reactor import DurableSubscription
        r = c.create_receiver(ARGS['address'], name=ARGS['name'], options=DurableSubscription(), credit=ARGS.get('count', 0) or None)
        got = []
        for _ in range(ARGS.get('count', 0)):
            try:
                m = r.receive(timeout=5)
            except Timeout:
                break
            got.append(msg_out(m))
            r.accept()
        if ARGS.get('unsubscribe'):
            r.close()
        else:
            r.detach()
        return {'messages': got}
    finally:
        c.close()


class _TxOutcome(object):
    """Records how a transaction ended (result['outcome']) and closes the connection."""

    def _finish_txn(self):
        if self.commit:
            self.txn.commit()
        else:
            self.txn.abort()

    def _ended(self, outcome):
        self.result['outcome'] = outcome
        self.conn.close()

    def on_transaction_committed(self, event):
        self._ended('committed')

    def on_transaction_aborted(self, event):
        self._ended('aborted')

    def on_transaction_declare_failed(self, event):
        self._ended('declare-failed')

    def on_transaction_commit_failed(self, event):
        self._ended('commit-failed')


class TxSend(_TxOutcome, MessagingHandler, TransactionHandler):
    def __init__(self, address, bodies, commit):
        super(TxSend, self).__init__()
        self.address, self.bodies, self.commit = address, bodies, commit
        self.result = {}

    def on_start(self, event):
        self.conn = event.container.connect(URL, allowed_mechs='ANONYMOUS PLAIN')
        self.sender = event.container.create_sender(self.conn, self.address)
        event.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.txn = event.transaction
        self.result['declared'] = True
        for b in self.bodies:
            self.txn.send(self.sender, Message(body=b, durable=True))
        self._finish_txn()


class TxReceive(_TxOutcome, MessagingHandler, TransactionHandler):
    def __init__(self, address, count, commit):
        super(TxReceive, self).__init__(prefetch=0, auto_accept=False)
        self.address, self.count, self.commit = address, count, commit
        self.received = []
        self.result = {}

    def on_start(self, event):
        self.conn = event.container.connect(URL, allowed_mechs='ANONYMOUS PLAIN')
        self.receiver = event.container.create_receiver(self.conn, self.address)
        event.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.txn = event.transaction
        self.receiver.flow(self.count)

    def on_message(self, event):
        self.received.append(msg_out(event.message))
        self.txn.accept(event.delivery)
        if len(self.received) == self.count:
            self._finish_txn()


def run_handler(h):
    ct = Container(h)
    ct.timeout = TIMEOUT
    ct.run()
    return h


def tx_send():
    h = run_handler(TxSend(ARGS['address'], ARGS['bodies'], ARGS['commit']))
    return h.result


def tx_receive():
    h = run_handler(TxReceive(ARGS['address'], ARGS['count'], ARGS['commit']))
    out = dict(h.result)
    out['messages'] = h.received
    return out


SCENARIOS = {
    'send': send,
    'receive': receive,
    'request_reply': request_reply,
    'durable_subscribe': durable_subscribe,
    'tx_send': tx_send,
    'tx_receive': tx_receive,
}

if __name__ == '__main__':
    run(SCENARIOS)
