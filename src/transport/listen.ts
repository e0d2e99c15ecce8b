import type net from 'node:net';
import { JunctionError } from '../errors.ts';

/** Binds a server and resolves with the port it got (port 0 picks a free one); a bind error names the address. */
export function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new JunctionError('ERR_TRANSPORT_LISTEN', `Cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
