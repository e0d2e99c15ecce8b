"""Eclipse Paho (python3-paho-mqtt 1.6) scenarios against a Junction broker.

Usage: mqtt_paho.py HOST PORT TRANSPORT(tcp|websockets) PREFIX
Prints one JSON object with what each scenario observed; the Node test asserts on it.
"""
import json
import queue
import sys
import threading
import time

import paho.mqtt.client as mqtt

HOST, PORT, TRANSPORT, PREFIX = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


class C:
    def __init__(self, cid, clean=True, will=None):
        self.c = mqtt.Client(client_id=cid, clean_session=clean, protocol=mqtt.MQTTv311, transport=TRANSPORT)
        self.msgs = queue.Queue()
        self.connected = threading.Event()
        self.flags = None
        self.rc = None
        self.subacks = queue.Queue()
        self.pubacks = queue.Queue()
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put(list(granted))
        self.c.on_publish = lambda c, u, mid: self.pubacks.put(mid)
        if will:
            self.c.will_set(*will)
        self.c.connect(HOST, PORT, keepalive=30)
        self.c.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError('no CONNACK for %s' % cid)

    def _on_connect(self, c, u, flags, rc):
        self.flags = flags
        self.rc = rc
        self.connected.set()

    def sub(self, topic, qos):
        self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=10)

    def pub(self, topic, payload, qos=0, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish()

    def get(self, timeout=5):
        try:
            m = self.msgs.get(timeout=timeout)
        except queue.Empty:
            return None
        return {'topic': m.topic, 'payload': m.payload.hex(), 'qos': m.qos, 'retain': bool(m.retain), 'dup': bool(m.dup)}

    def drain(self, timeout=0.5):
        out = []
        while True:
            m = self.get(timeout)
            if m is None:
                return out
            out.append(m)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()

    def kill(self):
        # Abrupt: close the socket without DISCONNECT.
        self.c.loop_stop()
        self.c.socket().close()


result = {}

# QoS 0/1/2 round trip, with bytes that are not UTF-8.
t = PREFIX + '/rt'
sub = C(PREFIX + '-sub')
result['granted'] = sub.sub(t + '/#', 2)
pub = C(PREFIX + '-pub')
for q in (0, 1, 2):
    pub.pub('%s/q%d' % (t, q), bytes([0, q, 0xff, 0xfe]) + b'paho', qos=q)
result['roundtrip'] = [sub.get() for _ in range(3)]

# Retained: set, replace; a new subscriber gets the last with retain=1; clear.
rt = PREFIX + '/retained'
pub.pub(rt, b'r1', qos=1, retain=True)
pub.pub(rt, b'r2', qos=1, retain=True)
late = C(PREFIX + '-late')
late.sub(rt, 1)
result['retained'] = late.get()
pub.pub(rt, b'', qos=1, retain=True)
result['cleared_live'] = late.get()
late.close()
later = C(PREFIX + '-later')
later.sub(rt, 1)
result['after_clear'] = later.drain(0.7)
later.close()

# Persistent session: offline QoS 1 messages, session present on resume.
st = PREFIX + '/session'
dev = C(PREFIX + '-dev', clean=False)
dev.sub(st, 1)
dev.close()
time.sleep(0.2)
for i in range(3):
    pub.pub(st, ('offline-%d' % i).encode(), qos=1)
dev2 = C(PREFIX + '-dev', clean=False)
result['session_present'] = dev2.flags.get('session present')
result['offline'] = [dev2.get() for _ in range(3)]
dev2.close()
C(PREFIX + '-dev', clean=True).close()

# Last will on an abrupt disconnect.
wt = PREFIX + '/will'
watch = C(PREFIX + '-watch')
watch.sub(wt, 1)
dying = C(PREFIX + '-dying', will=(wt, b'paho-gone', 1, False))
time.sleep(0.2)
dying.kill()
result['will'] = watch.get(8)
watch.close()

sub.close()
pub.close()
print(json.dumps(result))
