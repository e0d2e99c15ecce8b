import type { EventEmitter } from 'node:events';
import type { Typed } from './rhea-codec.ts';

/*
 * The shapes of rhea's server-side objects as the adapter uses them. rhea's typings describe the
 * client API; the fields here (local/remote performatives, handles, the incoming interceptors)
 * are rhea 3.x internals, pinned by package-lock and covered by the end-to-end tests.
 */

export interface AmqpErrorField {
  condition: string;
  description?: string;
}

export interface RheaTerminus {
  address?: string | null;
  durable?: number;
  expiry_policy?: string;
  timeout?: number;
  dynamic?: boolean;
  dynamic_node_properties?: Record<string, unknown>;
  distribution_mode?: string;
  filter?: Record<string, unknown> | null;
  default_outcome?: unknown;
  outcomes?: string | string[];
  capabilities?: string | string[];
}

export interface AttachPerformative {
  name: string;
  handle: number;
  role: boolean;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  source?: RheaTerminus | null;
  target?: RheaTerminus | null;
  max_message_size?: number;
  offered_capabilities?: string | string[];
  desired_capabilities?: string | string[];
  /** Set by the adapter's attach interceptor: the raw target was a transaction coordinator. */
  junctionCoordinator?: Typed;
}

export interface RheaDelivery {
  id: number;
  tag: Buffer;
  settled: boolean;
  remote_settled: boolean;
  remote_state?: unknown;
  format?: number;
  link: RheaLink;
  update(settled: boolean | undefined, state?: Typed): void;
  /** Adapter bookkeeping. */
  junctionId?: number;
  junctionTxn?: string;
}

export interface RheaLink extends EventEmitter {
  name: string;
  credit: number;
  delivery_count: number;
  session: RheaSession;
  connection: RheaConnection;
  local: { handle: number; attach: AttachPerformative & { source?: unknown; target?: unknown; initial_delivery_count?: number }; detach: { closed?: boolean; error?: AmqpErrorField } };
  remote: { attach?: AttachPerformative; detach?: { closed?: boolean; error?: AmqpErrorField } };
  _incomplete?: RheaDelivery;
  is_receiver(): boolean;
  is_sender(): boolean;
  is_open(): boolean;
  is_closed(): boolean;
  set_source(fields: Record<string, unknown>): void;
  set_target(fields: Record<string, unknown>): void;
  close(error?: AmqpErrorField): void;
  detach(): void;
}

export interface RheaSender extends RheaLink {
  send(payload: Buffer, tag: Buffer, format: number): RheaDelivery;
  set_drained(drained: boolean): void;
  _draining: boolean;
}

export interface RheaReceiver extends RheaLink {
  flow(credit: number): void;
}

/** rhea's per-session ring of unsettled deliveries (ids ascending from the head). */
export interface RheaDeliveries {
  by_id(id: number): RheaDelivery | undefined;
  get_head(): RheaDelivery | undefined;
  get_tail(): RheaDelivery | undefined;
}

export interface RheaSession extends EventEmitter {
  remote: { channel?: number };
  outgoing: { deliveries: RheaDeliveries };
  incoming: { deliveries: RheaDeliveries };
  _get_link(frame: Frame): RheaLink;
  close(error?: AmqpErrorField): void;
}

export interface Frame {
  channel: number;
  performative: Record<string, unknown> & { handle?: number; more?: boolean; aborted?: boolean; state?: unknown; delivery_id?: number };
  payload?: Buffer;
}

export interface RheaConnection extends EventEmitter {
  container_id?: string;
  options: { id: string };
  remote: { open?: { container_id?: string; channel_max?: number; max_frame_size?: number } };
  local: { open: Record<string, unknown>; close: { error?: AmqpErrorField } };
  remote_channel_map: Record<number, RheaSession>;
  amqp_transport: unknown;
  accept(socket: unknown): RheaConnection;
  close(error?: AmqpErrorField): void;
  is_open(): boolean;
  _write_frame(channel: number, frame: unknown): void;
  on_attach(frame: Frame): void;
  on_transfer(frame: Frame): void;
  on_disposition(frame: Frame): void;
  on_begin(frame: Frame): void;
  on_open(frame: Frame): void;
  _register(): void;
}

/** The container side used to create server connections. */
export interface RheaContainer extends EventEmitter {
  id: string;
  create_connection(options: Record<string, unknown>): RheaConnection;
  sasl_server_mechanisms: { enable_anonymous(): void; enable_plain(cb: (user: string, password: string, hostname?: string) => boolean | Promise<boolean>): void };
}

/** A described AMQP value as rhea's decoder leaves it (descriptor + value). */
export interface DescribedValue {
  descriptor: { value: unknown };
  value: unknown;
}

export function isDescribed(v: unknown): v is DescribedValue {
  return typeof v === 'object' && v !== null && 'descriptor' in v && typeof (v as DescribedValue).descriptor === 'object' && (v as DescribedValue).descriptor !== null;
}

/** Symbolic descriptors of the described types the adapter reads, by their numeric codes. */
const SYMBOLIC: Record<string, number> = {
  'amqp:coordinator:list': 0x30,
  'amqp:declare:list': 0x31,
  'amqp:discharge:list': 0x32,
  'amqp:declared:list': 0x33,
  'amqp:transactional-state:list': 0x34,
};

/** The descriptor of a described value: a number, the code of a known symbol, or the symbol itself. */
export function descriptorOf(v: DescribedValue): number | string {
  const d = v.descriptor.value;
  if (typeof d === 'string') return SYMBOLIC[d] ?? d;
  return typeof d === 'number' ? d : Number(d);
}

/** A decoded terminus, or null: rhea leaves an encoded null terminus as a Typed null. */
export function terminusOrNull(v: unknown): RheaTerminus | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object' && 'type' in v && 'value' in v && (v as { value: unknown }).value === null) return null;
  return v as RheaTerminus;
}

/**
 * Calls `written` once rhea has written the link's attach answer, from then on nothing. A peer
 * knows a handle only from the attach that names it (AMQP 1.0 §2.6.2, §2.7.3): a transfer on it
 * before the attach is a session error to the peer (proton: "no such handle"), and within one write
 * pass rhea writes a session's transfers before its links' attaches. rhea writes the attach in the
 * first `_process` of the link after it opened (rhea opens a peer-initiated link before the adapter
 * sees it), so the wrapper runs once and puts rhea's `_process` back: no cost after the attach.
 * Composes with {@link holdAttach}, which defers the calls this wrapper sees. `written` runs on the
 * next tick, outside rhea's write pass.
 */
export function onAttachWritten(link: RheaLink, written: () => void): void {
  const l = link as RheaLink & { _process(): void };
  const original = l._process;
  let pending = true;
  const wrapper = function (this: RheaLink): void {
    original.call(this);
    if (!pending) return;
    pending = false;
    if (l._process === wrapper) l._process = original;
    process.nextTick(written);
  };
  l._process = wrapper;
}

/**
 * Holds back a link's attach answer (rhea writes it on the next tick) until the returned function
 * is called, so a client sees its subscription confirmed only once the core has created it.
 */
export function holdAttach(link: RheaLink): () => void {
  const l = link as RheaLink & { _process(): void };
  const original = l._process;
  let held = true;
  l._process = function (this: RheaLink) {
    if (!held) original.call(this);
  };
  return () => {
    if (!held) return;
    held = false;
    l._process = original;
    link.connection._register();
  };
}

const TERMINUS_FIELDS = ['address', 'durable', 'expiry_policy', 'timeout', 'dynamic', 'dynamic_node_properties', 'distribution_mode', 'filter', 'default_outcome', 'outcomes', 'capabilities'] as const;

/** The fields of a decoded terminus (rhea's composites keep them behind accessors). */
export function terminusFields(t: RheaTerminus): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of TERMINUS_FIELDS) out[k] = t[k];
  return out;
}

/** `o` without its undefined (and function) fields: a terminus to answer an attach with. */
export function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out;
}
