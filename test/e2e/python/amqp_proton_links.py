"""Link naming and attach ordering with python-qpid-proton (Debian's python3-qpid-proton), driven by
test/e2e/amqp-link-names.test.ts and test/e2e/amqp-attach-order.test.ts (issue 12, items 8 and 9).
Usage: amqp_proton_links.py PORT SCENARIO JSON_ARGS; prints one JSON object on stdout. Every wait
has a timeout, so a broker that does not answer fails the scenario instead of hanging it."""
import json
import sys

from proton import Message, Timeout
from proton.handlers import MessagingHandler
from proton.reactor import Container, Copy, DurableSubscription
from proton.utils import BlockingConnection

from proton_common import ARGS, PORT, SCENARIO, TIMEOUT, URL, blocking, run  # noqa: E402,F401


def sender_then_receiver():
    """BlockingConnection names both links after the address: a sender, then a receiver, one name."""
    c = blocking()
    try:
        s = c.create_sender(ARGS['address'])
        r = c.create_receiver(ARGS['address'], credit=len(ARGS['bodies']))
        for b in ARGS['bodies']:
            s.send(Message(body=b), timeout=TIMEOUT)
        got = []
        for _ in ARGS['bodies']:
            got.append(r.receive(timeout=5).body)
            r.accept()
        return {'sender_name': s.link.name, 'receiver_name': r.link.name, 'bodies': got}
    finally:
        c.close()


def durable_with_same_name_sender():
    """A durable subscription (link name + container id) and a sender of the same name on one
    connection: the sender publishes to the topic, the subscription gets it; then the sender is
    closed and the receiver detached (the subscription must stay)."""
    c = blocking(ARGS['container_id'])
    try:
        r = c.create_receiver(ARGS['address'], name=ARGS['name'], options=DurableSubscription(), credit=10)
        s = c.create_sender(ARGS['address'], name=ARGS['name'])
        s.send(Message(body=ARGS['body'], durable=True), timeout=TIMEOUT)
        m = r.receive(timeout=5)
        r.accept()
        s.close()
        r.detach()
        return {'sender_name': s.link.name, 'receiver_name': r.link.name, 'bodies': [m.body]}
    finally:
        c.close()


class Browser(MessagingHandler):
    """queue_browser.py's receiver (source distribution-mode copy, credit sent with the attach), with
    no reconnect and an end once `count` messages are in, so a broker error ends it with the reason."""

    def __init__(self, address, count):
        super(Browser, self).__init__()
        self.address, self.count = address, count
        self.bodies = []
        self.error = None

    def on_start(self, event):
        event.container.connect(URL, allowed_mechs='ANONYMOUS PLAIN', reconnect=False)

    def on_connection_opened(self, event):
        event.container.create_receiver(event.connection, self.address, options=Copy())

    def on_message(self, event):
        body = event.message.body
        self.bodies.append(bytes(body).decode() if isinstance(body, (bytes, bytearray, memoryview)) else body)
        if len(self.bodies) >= self.count:
            event.connection.close()

    def _failed(self, what, cond):
        if self.error is None:
            self.error = '%s: %s' % (what, cond)

    def on_transport_error(self, event):
        self._failed('transport', event.transport.condition)

    def on_connection_error(self, event):
        self._failed('connection', event.connection.remote_condition)

    def on_link_error(self, event):
        self._failed('link', event.link.remote_condition)
        event.connection.close()


def browse():
    h = Browser(ARGS['address'], ARGS['count'])
    ct = Container(h)
    ct.timeout = TIMEOUT
    ct.run()
    if h.error:
        return {'error': h.error, 'bodies': h.bodies}
    return {'bodies': h.bodies}


SCENARIOS = {
    'sender_then_receiver': sender_then_receiver,
    'durable_with_same_name_sender': durable_with_same_name_sender,
    'browse': browse,
}

if __name__ == '__main__':
    run(SCENARIOS)
