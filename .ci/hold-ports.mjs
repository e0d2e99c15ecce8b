#!/usr/bin/env node
// Holds Junction's default ports (the ActiveMQ ones) for the duration of `npm test`, as a machine
// running Mosquitto (1883, 8883) and ActiveMQ (61613, 61614, 5672, 8161; TLS 61612, 5671, 61619) would: a test that binds a
// default port fails with EADDRINUSE, and one that connects to a default port by mistake is
// accepted and closed at once instead of finding a broker. Tests must use port 0 (issue 12, item 21).
//
// Usage: node .ci/hold-ports.mjs [--ready-file FILE] [PORT...]
// Writes FILE (or prints "holding ...") once every port it could take is held; runs until killed.
// A port that something else already holds (a real Mosquitto) is reported and left to it: it is
// busy either way, which is all the proof needs.
import net from 'node:net';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
let readyFile;
const ports = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--ready-file') readyFile = args[++i];
  else ports.push(Number(args[i]));
}
if (ports.length === 0) ports.push(61613, 61614, 1883, 5672, 8161, 61612, 8883, 5671, 61619);

/** Listens on host:port; resolves to a description of what happened (never rejects). */
function hold(port, host, options = {}) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (err) => resolve(`${host}:${port} ${err.code ?? err.message}`));
    server.listen({ port, host, exclusive: true, ...options }, () => resolve(`${host}:${port} held`));
  });
}

const lines = [];
for (const port of ports) {
  // The wildcard address covers 127.0.0.1 too (a later bind of 127.0.0.1:port gets EADDRINUSE);
  // if it is taken, hold loopback alone. IPv6 loopback as well, for clients that try ::1 first.
  const any = await hold(port, '0.0.0.0');
  lines.push(any);
  if (!any.endsWith('held')) lines.push(await hold(port, '127.0.0.1'));
  lines.push(await hold(port, '::', { ipv6Only: true }));
}
const report = `hold-ports: ${lines.join(', ')}\n`;
process.stdout.write(report);
if (readyFile) writeFileSync(readyFile, report);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
