import { mqttFilterToCore, parseShared } from '../../interop/mqtt-topic.ts';
import type { ConnectionInfo, ConnectionSubscription } from '../../transport/protocol-adapter.ts';
import { transportFields } from '../../transport/connection-info.ts';
import type { MqttSession } from './mqtt-session.ts';

/** CONNECT's protocol level -> the version management shows (aedes 1.x speaks 3.1 and 3.1.1 only). */
const VERSIONS: Readonly<Record<number, string>> = { 3: '3.1', 4: '3.1.1' };

/** A filter in the core's naming (`+` -> `*`, `#` -> `>`, `/` -> `.`); the filter itself if it has no core name. */
function coreFilter(filter: string): string {
  try {
    return mqttFilterToCore(parseShared(filter)?.filter ?? filter);
  } catch {
    return filter;
  }
}

/**
 * One MQTT connection as management lists it (issue 15): a copy made when asked. Its subscriptions
 * are its live filters, each with the core consumer bound to it (a persistent session's are durable).
 */
export function mqttConnectionInfo(session: MqttSession): ConnectionInfo {
  const client = session.client;
  const subscriptions: ConnectionSubscription[] = [];
  for (const b of session.filters.values()) {
    const c = b.consumer;
    subscriptions.push({ id: b.filter, destination: coreFilter(b.filter), queue: c?.queueName, consumerId: c?.id, durable: b.durableName !== undefined, unacked: c ? c.unacked.size : 0 });
  }
  return {
    ...transportFields(session.stream.conn),
    protocol: 'mqtt',
    user: session.subject?.user,
    clientId: client.id ?? undefined,
    version: client.connected && client.version !== null ? VERSIONS[client.version] : undefined,
    subscriptions,
    producers: [],
  };
}
