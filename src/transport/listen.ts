import type net from 'node:net';
import { JunctionError } from '../errors.ts';

/**
 * Binds a server and resolves with the port it got (port 0 picks a free one); a bind error names the
 * address. `onError` then gets the server's later errors (an 'error' without a listener would end the process).
 */
export function listen(server: net.Server, port: number, host: string, onError?: (err: Error) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const onBindError = (err: Error) => reject(new JunctionError('ERR_TRANSPORT_LISTEN', `Cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onBindError);
    server.listen(port, host, () => {
      server.off('error', onBindError);
      if (onError) server.on('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
