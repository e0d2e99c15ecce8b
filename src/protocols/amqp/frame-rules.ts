import { JunctionError } from '../../errors.ts';
import type { Frame, RheaConnection, RheaSession } from './rhea-shapes.ts';

/**
 * Connection and session rules rhea does not check, applied to one connection's frame handlers
 * (issue 11, item 12). A frame that breaks one throws a FrameRuleError inside rhea's frame dispatch;
 * rhea hands it to the connection's 'error' event and the connection closes with its condition.
 */

/** A frame that breaks a rule of the connection or session: the connection is closed with `condition`. */
export class FrameRuleError extends JunctionError {
  readonly condition: string;
  constructor(condition: string, message: string) {
    super('ERR_AMQP_PROTOCOL', message);
    this.condition = condition;
  }
}

const UINT_MAX = 0xffffffff;

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT_MAX;
}

/** What checkAttach reads of a link rhea already keeps. */
interface AttachedLink {
  name: string;
  remote: { attach?: unknown; detach?: unknown };
}

/**
 * rhea keeps sessions by channel and links by name and by handle in plain objects, all keyed by what
 * the peer sent: a link named `__proto__` or `constructor` found Object.prototype members there (rhea
 * threw on them). The connection's maps, and those of each session it creates, get no prototype.
 * Each session's begin advertises `handleMax` (AMQP 1.0 §2.7.2 handle-max; rhea offers 2^32-1), which
 * checkAttach enforces: with handles unique among attached links, it caps a session's links.
 */
export function prepareSessions(connection: RheaConnection, handleMax: number): void {
  const rc = connection as unknown as {
    local_channel_map: Record<string, unknown>;
    remote_channel_map: Record<string, unknown>;
    create_session(size: number): RheaSession;
  };
  rc.local_channel_map = Object.create(null) as Record<string, unknown>;
  rc.remote_channel_map = Object.create(null) as Record<string, unknown>;
  const create = rc.create_session;
  rc.create_session = function (this: unknown, size: number): RheaSession {
    const session = create.call(this, size) as unknown as {
      links: object;
      local: { handles: object; begin: { handle_max?: number } };
      remote: { handles: object };
    };
    session.links = Object.create(null) as object;
    session.local.handles = Object.create(null) as object;
    session.remote.handles = Object.create(null) as object;
    session.local.begin.handle_max = handleMax;
    return session as unknown as RheaSession;
  };
}

/**
 * An attach's name and handle before rhea files the link under them (AMQP 1.0 §2.7.3): the name a
 * string, the handle a uint, the role a boolean (else amqp:invalid-field); a handle beyond the
 * handle-max of our begin: "MUST close the connection with the framing-error error-code" (§2.7.2); a
 * handle already in use
 * for an attached link "MUST be responded to with an immediate close carrying a handle-in-use
 * session-error"; a second attach of a link already attached under that name in this session (rhea
 * keeps one link per name): amqp:not-allowed.
 */
export function checkAttach(rc: RheaConnection, frame: Frame, handleMax: number): void {
  const p = frame.performative as { name?: unknown; handle?: unknown; role?: unknown };
  if (typeof p.name !== 'string') throw new FrameRuleError('amqp:invalid-field', 'attach without a string link name');
  if (!isUint(p.handle)) throw new FrameRuleError('amqp:invalid-field', `attach handle ${String(p.handle)} is not a uint`);
  if (p.handle > handleMax) throw new FrameRuleError('amqp:connection:framing-error', `attach handle ${p.handle} exceeds the session's handle-max ${handleMax} (amqp.maxLinksPerSession)`);
  if (typeof p.role !== 'boolean') throw new FrameRuleError('amqp:invalid-field', 'attach without a boolean role');
  const session = rc.remote_channel_map[frame.channel] as unknown as
    | { remote: { handles: Record<number, AttachedLink | undefined> }; links: Record<string, AttachedLink | undefined> }
    | undefined;
  if (!session) return; // rhea refuses a frame on a channel without a session
  const onHandle = session.remote.handles[p.handle];
  if (onHandle && !onHandle.remote.detach) throw new FrameRuleError('amqp:session:handle-in-use', `Handle ${p.handle} is already in use by link ${JSON.stringify(onHandle.name)}`);
  const byName = session.links[p.name];
  if (byName && byName.remote.attach && !byName.remote.detach) throw new FrameRuleError('amqp:not-allowed', `Link ${JSON.stringify(p.name)} is already attached on this session`);
}

/**
 * AMQP 1.0 §2.4.1: "each peer MUST send an open frame before sending any other frames"; rhea would
 * create sessions and links for a peer that never opened. Any other frame before the open is
 * amqp:not-allowed (§2.8.15: a frame used in a manner inconsistent with the specification). Wraps
 * the connection's handlers as they are (call it after the adapter's own wrappers are in place).
 */
export function requireOpenFirst(rc: RheaConnection): void {
  const handlers = rc as unknown as Record<string, (frame: Frame) => void>;
  for (const name of ['begin', 'end', 'attach', 'detach', 'flow', 'transfer', 'disposition']) {
    const handler = handlers[`on_${name}`]!;
    handlers[`on_${name}`] = (frame: Frame) => {
      if (!rc.remote.open) throw new FrameRuleError('amqp:not-allowed', `${name} received before open`);
      handler.call(rc, frame);
    };
  }
}
