#!/usr/bin/env python3
"""Independent Python clients over TLS, for Junction's TLS end-to-end tests.

Usage: tls_clients.py CLIENT PORT '<json args>'

CLIENT is one of:
  paho    paho-mqtt with tls_set(ca_certs, certfile, keyfile): subscribe, publish QoS 1 to itself
  stomp   stomp.py with set_ssl(ca_certs, cert_file, key_file): subscribe, send to itself
  proton  python-qpid-proton BlockingConnection with an SSLDomain (peer name verified): send, receive

args: {"ca": path, "cert": path?, "key": path?, "host": "localhost", "topic"/"queue": name, "body": text}
Output: one JSON object on stdout: {"body": what came back, "tls": version, "fingerprint": the server
certificate's SHA-256 (AA:BB:...)}, or {"error": "..."}.
"""
import hashlib
import json
import ssl
import sys
import threading


def fingerprint(der):
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def run_paho(port, a):
    import paho.mqtt.client as mqtt
    got = threading.Event()
    out = {}
    c = mqtt.Client(client_id="py-tls-paho", clean_session=True)
    c.tls_set(ca_certs=a["ca"], certfile=a.get("cert"), keyfile=a.get("key"), tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(client, userdata, flags, rc):
        if rc != 0:
            out["error"] = "CONNACK %d" % rc
            got.set()
            return
        client.subscribe(a["topic"], qos=1)

    def on_subscribe(client, userdata, mid, granted):
        client.publish(a["topic"], a["body"], qos=1)

    def on_message(client, userdata, msg):
        out["body"] = msg.payload.decode()
        got.set()

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    c.connect(a.get("host", "localhost"), port, keepalive=30)
    sock = c.socket()
    out["tls"] = sock.version()
    out["fingerprint"] = fingerprint(sock.getpeercert(binary_form=True))
    c.loop_start()
    ok = got.wait(10)
    c.disconnect()
    c.loop_stop()
    if not ok:
        out["error"] = "no message"
    return out


def run_stomp(port, a):
    import stomp
    host = a.get("host", "localhost")
    got = threading.Event()
    out = {}

    class Listener(stomp.ConnectionListener):
        def on_message(self, frame):
            out["body"] = frame.body
            got.set()

        def on_error(self, frame):
            out["error"] = "ERROR %s" % frame.headers.get("message")
            got.set()

    conn = stomp.Connection12([(host, port)], auto_content_length=True)
    conn.set_ssl(for_hosts=[(host, port)], ca_certs=a["ca"], cert_file=a.get("cert"), key_file=a.get("key"))
    conn.set_listener("l", Listener())
    conn.connect(a.get("login"), a.get("passcode"), wait=True)
    sock = conn.transport.socket
    out["tls"] = sock.version()
    out["fingerprint"] = fingerprint(sock.getpeercert(binary_form=True))
    conn.subscribe(destination="/queue/" + a["queue"], id="1", ack="auto")
    conn.send(destination="/queue/" + a["queue"], body=a["body"], receipt="r1")
    ok = got.wait(10)
    conn.disconnect()
    if not ok:
        out["error"] = "no message"
    return out


def run_proton(port, a):
    from proton import Message, SSLDomain
    from proton.utils import BlockingConnection
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(a["ca"])
    # The server's certificate must chain to the CA and name the host (SAN DNS:localhost).
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME, a["ca"])
    if a.get("cert"):
        domain.set_credentials(a["cert"], a["key"], None)
    url = "amqps://%s:%d" % (a.get("host", "localhost"), port)
    # mechs "EXTERNAL": SASL EXTERNAL, the broker maps the client certificate to a user.
    conn = BlockingConnection(url, ssl_domain=domain, timeout=10, allowed_mechs=a.get("mechs"), sasl_enabled=True)
    out = {}
    try:
        receiver = conn.create_receiver(a["queue"])
        sender = conn.create_sender(a["queue"])
        sender.send(Message(body=a["body"], durable=True))
        m = receiver.receive(timeout=10)
        receiver.accept()
        out["body"] = m.body
    finally:
        conn.close()
    return out


def main():
    client, port, args = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    try:
        out = {"paho": run_paho, "stomp": run_stomp, "proton": run_proton}[client](port, args)
    except Exception as e:  # reported to the test, which fails with it
        out = {"error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
