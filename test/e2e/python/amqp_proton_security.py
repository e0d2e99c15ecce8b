"""python-qpid-proton against a broker with security on: SASL PLAIN, EXTERNAL and ANONYMOUS, over
TCP or SSL. `amqp_proton_security.py PORT SCENARIO JSON_ARGS`; one JSON object on stdout. A refused
connection is a result ({"refused": ...}), not an error: the tests assert what the broker answered."""
import json
import sys

from proton import ConnectionException, Message, SSLDomain
from proton.reactor import Container
from proton.utils import BlockingConnection

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
ARGS = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
TIMEOUT = 10


def connect():
    kwargs = {'allowed_mechs': ARGS.get('mechs', 'PLAIN')}
    if 'user' in ARGS:
        kwargs['user'] = ARGS['user']
        kwargs['password'] = ARGS.get('password', '')
    scheme = 'amqp'
    tls = ARGS.get('ssl')
    if tls:
        scheme = 'amqps'
        domain = SSLDomain(SSLDomain.MODE_CLIENT)
        domain.set_trusted_ca_db(tls['ca'])
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
        if 'cert' in tls:
            domain.set_credentials(tls['cert'], tls['key'], None)
        kwargs['ssl_domain'] = domain
    url = '%s://%s:%d' % (scheme, ARGS.get('host', 'localhost'), PORT)
    return BlockingConnection(url, timeout=TIMEOUT, container=Container(), **kwargs)


def logged_in(scenario):
    """Runs `scenario(conn)` on a logged-in connection; a refused login is the result instead."""
    try:
        conn = connect()
    except ConnectionException as e:
        return {'refused': str(e)}
    try:
        return scenario(conn)
    finally:
        conn.close()


def roundtrip(conn):
    """Sends one message to ARGS.address and receives it back."""
    receiver = conn.create_receiver(ARGS['address'])
    conn.create_sender(ARGS['address']).send(Message(body=ARGS.get('body', 'hello')))
    body = receiver.receive(timeout=TIMEOUT).body
    receiver.accept()  # else the close releases it back to the queue
    return {'body': body}


def send(conn):
    """Sends one message to ARGS.address: sent, or the link error the broker answered."""
    try:
        conn.create_sender(ARGS['address']).send(Message(body='x'))
        return {'sent': True}
    except Exception as e:  # the link's detach error, as proton reports it
        return {'link_error': '%s: %s' % (type(e).__name__, e)}


SCENARIOS = {'roundtrip': roundtrip, 'send': send}

if __name__ == '__main__':
    try:
        print(json.dumps(logged_in(SCENARIOS[SCENARIO])))
    except Exception as e:
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}))
        sys.exit(1)
