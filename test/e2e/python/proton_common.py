"""What every python-qpid-proton scenario script here shares: its command line
(PORT SCENARIO JSON_ARGS), the broker's URL and a BlockingConnection with a timeout on every wait."""
import json
import sys

from proton.reactor import Container
from proton.utils import BlockingConnection

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
ARGS = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
URL = 'amqp://127.0.0.1:%d' % PORT
TIMEOUT = 10


def blocking(container_id=None):
    ct = Container()
    if container_id:
        ct.container_id = container_id
    return BlockingConnection(URL, timeout=TIMEOUT, container=ct, allowed_mechs='ANONYMOUS PLAIN')


def run(scenarios):
    """Runs the scenario named on the command line and prints its JSON result, or the error."""
    try:
        print(json.dumps(scenarios[SCENARIO]()))
    except Exception as e:  # reported to the test, which fails with it
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}))
        sys.exit(1)
