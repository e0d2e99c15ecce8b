"""Eclipse Paho (python3-paho-mqtt 1.6) against a Junction broker with security on.

Usage: mqtt_paho_security.py HOST PORT TRANSPORT(tcp|websockets) PREFIX
Prints one JSON object with what each scenario observed; the Node test asserts on it.
Users (made by the test): alice/secret (role devices), bob/bobpw (role admin); no anonymous role.
"""
import json
import queue
import sys
import threading

import paho.mqtt.client as mqtt

HOST, PORT, TRANSPORT, PREFIX = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def connect_rc(cid, user=None, password=None):
    """The CONNACK return code of a CONNECT with these credentials (None: no CONNACK within 10 s)."""
    c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv311, transport=TRANSPORT)
    if user is not None:
        c.username_pw_set(user, password)
    got = queue.Queue()
    c.on_connect = lambda cl, u, flags, rc: got.put(rc)
    c.connect(HOST, PORT, keepalive=30)
    c.loop_start()
    try:
        return got.get(timeout=10)
    except queue.Empty:
        return None
    finally:
        c.disconnect()
        c.loop_stop()


class C:
    def __init__(self, cid, user, password):
        self.c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv311, transport=TRANSPORT)
        self.c.username_pw_set(user, password)
        self.msgs = queue.Queue()
        self.subacks = queue.Queue()
        self.connected = threading.Event()
        self.c.on_connect = lambda cl, u, flags, rc: rc == 0 and self.connected.set()
        self.c.on_message = lambda cl, u, m: self.msgs.put(m)
        self.c.on_subscribe = lambda cl, u, mid, granted: self.subacks.put(list(granted))
        self.c.connect(HOST, PORT, keepalive=30)
        self.c.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError('no CONNACK 0 for %s' % cid)

    def sub(self, topics):
        self.c.subscribe([(t, 1) for t in topics])
        return self.subacks.get(timeout=10)

    def pub(self, topic, payload, qos):
        info = self.c.publish(topic, payload, qos=qos)
        info.wait_for_publish()
        return info.rc

    def get(self, timeout=5):
        try:
            m = self.msgs.get(timeout=timeout)
        except queue.Empty:
            return None
        return '%s %s' % (m.topic, m.payload.decode())

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


out = {
    'right': connect_rc(PREFIX + '-right', 'alice', 'secret'),
    'wrongPassword': connect_rc(PREFIX + '-wrong', 'alice', 'nope'),
    'unknownUser': connect_rc(PREFIX + '-unknown', 'mallory', 'x'),
    'anonymous': connect_rc(PREFIX + '-anon'),
}

watcher = C(PREFIX + '-watch', 'bob', 'bobpw')
watcher.sub([PREFIX + '/#'])
alice = C(PREFIX + '-alice', 'alice', 'secret')
out['suback'] = alice.sub([PREFIX + '/ok/a', PREFIX + '/secret/a', PREFIX + '/ro/a'])
# The denied QoS 1 publish completes (PUBACK); the allowed one after it is the first thing the watcher gets.
out['deniedPublishRc'] = alice.pub(PREFIX + '/ro/x', 'denied', 1)
alice.pub(PREFIX + '/ok/x', 'allowed', 1)
out['watcherFirst'] = watcher.get()
out['aliceStillConnected'] = alice.c.is_connected()
alice.close()
watcher.close()
print(json.dumps(out))
