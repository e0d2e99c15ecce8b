import type { Message } from './message.ts';
import type { SelectorResolver } from './selector/types.ts';

/** Maps selector identifiers to JMS headers and message properties (ActiveMQ's names). */
export function selectorResolver(m: Message): SelectorResolver {
  return (id) => {
    switch (id) {
      case 'JMSPriority':
        return m.priority;
      case 'JMSMessageID':
        return m.id;
      case 'JMSTimestamp':
        return m.timestamp;
      case 'JMSCorrelationID':
        return m.correlationId ?? null;
      case 'JMSType':
        return m.type ?? null;
      case 'JMSDeliveryMode':
        return m.durable ? 'PERSISTENT' : 'NON_PERSISTENT';
      case 'JMSExpiration':
        return m.expiration;
      case 'JMSXGroupID':
        return m.groupId ?? null;
      case 'JMSXGroupSeq':
        return m.groupSeq ?? null;
      case 'JMSDestination':
        return m.destination.name;
      default:
        return m.properties[id];
    }
  };
}

