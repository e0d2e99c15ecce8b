import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

/**
 * TLS on every listener (`tls` in the config, docs/security.md#tls): STOMP+SSL, MQTT over TLS, AMQPS,
 * secure WebSocket and the management HTTPS port, each the same protocol adapter as its plaintext listener over `node:tls`.
 * The TLS listeners start only when both `cert` and `key` are set; the plaintext ones run as before.
 */
export const tlsConfigSchema = z
  .strictObject({
    /** The broker's private key, a PEM file path. Required with `cert`; read again on change and on SIGHUP. */
    key: z.string().min(1).optional(),
    /**
     * The broker's certificate, a PEM file path (the chain: the leaf first, then intermediates).
     * Setting `cert` and `key` starts the TLS listeners; both are watched and a change is taken
     * without a restart (new connections get it; open ones keep theirs). A new file that does not
     * load (unreadable, not PEM, the key does not match) keeps the old certificate and is logged.
     */
    cert: z.string().min(1).optional(),
    /**
     * The CAs client certificates must chain to, a PEM file path (one or more certificates). Required
     * when `clientAuth` is `want` or `need`; without it a client certificate cannot be verified.
     */
    ca: z.string().min(1).optional(),
    /**
     * The oldest TLS version accepted: `TLSv1.2` (default) or `TLSv1.3`. Older ones (SSLv3, TLS 1.0,
     * 1.1) cannot be configured: a client offering only those fails the handshake, as on Artemis
     * and Mosquitto 2 (whose default `tls_version` floor is TLS 1.2).
     */
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /**
     * Client certificates (mTLS), as Artemis's `wantClientAuth`/`needClientAuth`: `none` (default)
     * asks for none; `want` asks, and a client without one (or with one `ca` does not verify) still
     * connects, without a certificate identity; `need` refuses the handshake of a client without a
     * certificate `ca` verifies (Mosquitto's `require_certificate true`). A verified certificate is
     * the connection's `peerCertificate` (subject DN, SANs, SHA-256 fingerprint), which the
     * security's users file may map to a user (AMQP SASL EXTERNAL, certificate logins).
     */
    clientAuth: z.enum(['none', 'want', 'need']).default('none'),
    /**
     * How long a TLS handshake may take, ms: a client that connects and stays silent (or stalls the
     * handshake) is closed when it runs out. Default 10,000, as the WebSocket upgrade timeout and
     * STOMP's connect timeout (Node's own default is 120 s). Until then the connection counts
     * against `connections.max` and `maxPerAddress` like any other; after it, the protocol's own
     * connect timeout applies.
     */
    handshakeTimeout: z.number().int().min(100).default(10_000),
    /** Watch `key`, `cert` and `ca` and reload them on change (default true); SIGHUP reloads them either way. */
    watch: z.boolean().default(true),
    /** Ports of the TLS listeners, as ActiveMQ's and Mosquitto's; 0 picks a free port (written to `<dataDir>/ports.json` as `stompSsl`, `mqttSsl`, `amqps`, `wss`, `https`). */
    ports: z
      .strictObject({
        /** STOMP over TLS (ActiveMQ's `stomp+ssl`, 61612). */
        stomp: port.default(61612),
        /** MQTT over TLS (IANA `secure-mqtt`, 8883). */
        mqtt: port.default(8883),
        /** AMQP 1.0 over TLS (IANA `amqps`, 5671). */
        amqp: port.default(5671),
        /** Secure WebSocket for every protocol, chosen by subprotocol as on the `ws` port (ActiveMQ's `wss`, 61619). */
        ws: port.default(61619),
        /** The management console and REST API over HTTPS (ActiveMQ Classic's console HTTPS port, 8162; docs/management.md). */
        https: port.default(8162),
      })
      .prefault({}),
  })
  .superRefine((t, ctx) => {
    if ((t.cert === undefined) !== (t.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [t.cert === undefined ? 'cert' : 'key'], message: 'tls.cert and tls.key go together: set both to start the TLS listeners, or neither' });
    }
    if (t.clientAuth !== 'none' && t.ca === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: `tls.clientAuth '${t.clientAuth}' needs tls.ca: the CA client certificates are verified against` });
    }
  });

export type TlsConfig = z.output<typeof tlsConfigSchema>;

/** The TLS listener of each protocol, by the name it has in ports.json, `BoundPorts` and log lines (the secure WebSocket port is `wss`). */
export const TLS_LISTENERS = { stomp: 'stompSsl', mqtt: 'mqttSsl', amqp: 'amqps' } as const;
