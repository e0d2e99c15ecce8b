/**
 * Bare aedes, the reference of the MQTT benchmark: the library alone with its default in-memory
 * persistence and mqemitter, on a TCP port, in a process of its own. Prints `{"port": N}` once
 * listening; stops on SIGTERM.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker({ drainTimeout: 0 });
const server = net.createServer((socket) => broker.handle(socket));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
