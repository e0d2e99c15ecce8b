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
 * The key of a link in a session's `links`: its name and the broker's role. AMQP 1.0 §2.6.1: "a link
 * is uniquely identified by its name, and the source and target container-ids" (the direction), so a
 * sender and a receiver may share a name on one session; qpid-proton's BlockingConnection names both
 * after the address. rhea keys links by name alone and took the second attach for the first link
 * ("Attach already received"). The prefix keeps the two directions' keys apart for any name.
 */
export function linkKey(name: string, brokerIsReceiver: boolean): string {
  return (brokerIsReceiver ? 'r:' : 's:') + name;
}

/** What prepareSessions replaces of rhea's session (rhea 3.x `lib/session.js`). */
interface RheaSessionLinks {
  links: Record<string, LinkEntry | undefined>;
  local: { handles: Record<number, LinkEntry | undefined>; begin: { handle_max?: number } };
  remote: { handles: Record<number, LinkEntry | undefined> };
  create_sender(name: string): LinkEntry;
  create_receiver(name: string): LinkEntry;
  create_link(name: string, constructor: new (session: unknown, name: string, handle: number, opts: unknown) => LinkEntry, opts: unknown): LinkEntry;
  on_attach(frame: Frame): void;
  remove_link(link: LinkEntry): void;
}

interface LinkEntry {
  name: string;
  remote: { attach?: unknown; detach?: unknown };
  is_receiver(): boolean;
  on_attach(frame: Frame): void;
}

/**
 * rhea keeps sessions by channel and links by name and by handle in plain objects, all keyed by what
 * the peer sent: a link named `__proto__` or `constructor` found Object.prototype members there (rhea
 * threw on them). The connection's maps, and those of each session it creates, get no prototype.
 * Each session's links are filed under {@link linkKey} (name and direction), not the name alone: the
 * three session methods that touch `links` by name (create_link, on_attach, remove_link) are
 * replaced on each session; rhea's others only iterate it. Once per attach and detach, nothing per
 * transfer. Each session's begin advertises `handleMax` (AMQP 1.0 §2.7.2 handle-max; rhea offers
 * 2^32-1), which checkAttach enforces: with handles unique among attached links, it caps a session's links.
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
    const session = create.call(this, size) as unknown as RheaSessionLinks;
    session.links = Object.create(null) as RheaSessionLinks['links'];
    session.local.handles = Object.create(null) as RheaSessionLinks['local']['handles'];
    session.remote.handles = Object.create(null) as RheaSessionLinks['remote']['handles'];
    session.local.begin.handle_max = handleMax;
    session.create_link = createLink;
    session.on_attach = onAttach;
    session.remove_link = removeLink;
    return session as unknown as RheaSession;
  };
}

/** rhea's create_link, filing the link under its name and direction; the lowest free local handle. */
function createLink(this: RheaSessionLinks, name: string, constructor: Parameters<RheaSessionLinks['create_link']>[1], opts: unknown): LinkEntry {
  let handle = 0;
  while (this.local.handles[handle]) handle++;
  const link = new constructor(this, name, handle, opts);
  this.links[linkKey(name, link.is_receiver())] = link;
  this.local.handles[handle] = link;
  return link;
}

/**
 * rhea's on_attach, finding the link by name and direction: the peer's role true is a receiver, so
 * the broker sends. A link the peer has detached is never attached again: a peer may detach a link
 * and attach its name again in one write, before the broker's detach answer (AMQP 1.0 §2.6.5: after
 * a detach the name may be attached anew); that is a new link with a new handle, while the old one
 * finishes its detach (rhea would have re-attached the half-detached object, which then answered
 * neither frame and kept sending on its old handle).
 */
function onAttach(this: RheaSessionLinks, frame: Frame): void {
  const p = frame.performative as { name: string; handle: number; role: boolean };
  const filed = this.links[linkKey(p.name, !p.role)];
  // The detached link stays in `links` under its local handle (unique while it lives), since rhea
  // writes a session's frames by walking `links`: its detach answer still goes out.
  if (filed?.remote.detach) this.links[retiredKey(filed)] = filed;
  const link = filed && !filed.remote.detach ? filed : p.role ? this.create_sender(p.name) : this.create_receiver(p.name);
  this.remote.handles[p.handle] = link;
  link.on_attach(frame);
  link.remote.attach = p;
}

/**
 * rhea's remove_link, dropping only this link's entries (a new link may already hold the key or a
 * handle). The peer's handle is read from its attach: rhea's `remote.handle` is never set (it reads
 * `frame.handle`), so rhea left every removed link filed under its peer's handle until reused.
 */
function removeLink(this: RheaSessionLinks, link: LinkEntry): void {
  const handle = (link as unknown as { local: { handle: number } }).local.handle;
  const remoteHandle = (link.remote.attach as { handle?: number } | undefined)?.handle;
  if (remoteHandle !== undefined && this.remote.handles[remoteHandle] === link) delete this.remote.handles[remoteHandle];
  if (this.local.handles[handle] === link) delete this.local.handles[handle];
  const key = linkKey(link.name, link.is_receiver());
  if (this.links[key] === link) delete this.links[key];
  const retired = retiredKey(link);
  if (this.links[retired] === link) delete this.links[retired];
}

/** Where a detached link waits for its detach answer once its name is attached anew ('x:' is no linkKey prefix). */
function retiredKey(link: LinkEntry): string {
  return `x:${(link as unknown as { local: { handle: number } }).local.handle}`;
}

/**
 * An attach's name and handle before rhea files the link under them (AMQP 1.0 §2.7.3): the name a
 * string, the handle a uint, the role a boolean (else amqp:invalid-field); a handle beyond the
 * handle-max of our begin: "MUST close the connection with the framing-error error-code" (§2.7.2); a
 * handle already in use
 * for an attached link "MUST be responded to with an immediate close carrying a handle-in-use
 * session-error"; a second attach of a link already attached under that name and in that direction
 * in this session (AMQP 1.0 §2.6.1: names are unique per direction): amqp:not-allowed.
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
  // The peer's role true (receiver) makes the broker the sender.
  const byName = session.links[linkKey(p.name, !p.role)];
  if (byName && byName.remote.attach && !byName.remote.detach) throw new FrameRuleError('amqp:not-allowed', `${p.role ? 'A receiver' : 'A sender'} link ${JSON.stringify(p.name)} is already attached on this session`);
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
