import { JunctionError } from '../errors.ts';

/**
 * MQTT topic names and filters <-> core address names (docs/architecture.md): levels become segments
 * (`sensors/1/temp` <-> `sensors.1.temp`), `+` <-> `*`, `#` <-> `>`, and a `.` inside an MQTT level is a
 * `/` inside a core segment, so names round-trip.
 *
 * Empty levels are valid MQTT (3.1.1 section 4.7.1.1: `/devices/1`, `a//b`, `a/`), but a core name
 * has no empty segment. An empty level is the segment `~`, and a level made only of tildes takes one
 * more (`~` <-> `~~`, `~~` <-> `~~~`), so every MQTT level has exactly one segment and every core
 * segment is exactly one MQTT level: `/devices/1` <-> `~.devices.1`, `a//b` <-> `a.~.b`, `a/` <->
 * `a.~`, `~/x` <-> `~~.x`. A tilde among other characters (`~x`, `a~`) is left alone, so only names
 * with an empty level or an all-tilde level pay for the escape. `+` (one level, empty ones too) and
 * `#` keep matching the right levels, because each level is still one segment.
 */

/** The core segment of an empty MQTT level (see above). */
const EMPTY = '~';

const toCoreCache = new Map<string, string>();
const toMqttCache = new Map<string, string>();
const CACHE_MAX = 10_000;

function remember(cache: Map<string, string>, k: string, v: string): string {
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(k, v);
  return v;
}

/** Whether `s` is non-empty and made only of `~`. */
function allTildes(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x7e) return false;
  return true;
}

/**
 * One MQTT level -> one core segment. Core names cannot hold whitespace, control characters, or a
 * level that is exactly `*` or `>` (core wildcards): those are refused.
 */
function level(l: string, name: string, kind: 'topic' | 'filter'): string {
  if (l.length === 0) return EMPTY;
  if (l.charCodeAt(0) === 0x7e && allTildes(l)) return EMPTY + l;
  if (l === '*' || l === '>') throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `Level '${l}' in MQTT ${kind} '${name.slice(0, 80)}' is a core wildcard`);
  if (/[\s\u0000-\u001f\u007f\ufffd]/.test(l)) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `Whitespace, control or invalid characters in MQTT ${kind} '${name.slice(0, 80)}'`);
  return l.includes('.') ? l.replaceAll('.', '/') : l;
}

/** One core segment -> one MQTT level (the inverse of {@link level}). */
function segment(s: string): string {
  if (s.charCodeAt(0) === 0x7e && allTildes(s)) return s.slice(1);
  return s.includes('/') ? s.replaceAll('/', '.') : s;
}

/** A PUBLISH topic name -> a core topic name. Throws ERR_MQTT_TOPIC_INVALID. */
export function mqttTopicToCore(topic: string): string {
  const hit = toCoreCache.get(topic);
  if (hit !== undefined) return hit;
  if (topic.length === 0) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', 'Empty MQTT topic');
  if (topic.includes('+') || topic.includes('#')) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `Wildcard in MQTT topic name '${topic.slice(0, 80)}'`);
  return remember(toCoreCache, topic, topic.split('/').map((l) => level(l, topic, 'topic')).join('.'));
}

/** A SUBSCRIBE filter (without `$share/<group>/`) -> a core subscription pattern. Throws ERR_MQTT_TOPIC_INVALID. */
export function mqttFilterToCore(filter: string): string {
  if (filter.length === 0) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', 'Empty MQTT topic filter');
  const levels = filter.split('/');
  return levels
    .map((l, i) => {
      if (l === '+') return '*';
      if (l === '#') {
        if (i !== levels.length - 1) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `'#' not last in MQTT filter '${filter.slice(0, 80)}'`);
        return '>';
      }
      if (l.includes('+') || l.includes('#')) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `Wildcard inside a level of MQTT filter '${filter.slice(0, 80)}'`);
      return level(l, filter, 'filter');
    })
    .join('.');
}

/**
 * A core topic name -> the MQTT topic name subscribers see. A name without `/` or `~` (the usual
 * case) is one `replaceAll`. The core name `~` alone is the empty MQTT topic, which no PUBLISH may
 * carry ([MQTT-4.7.3-1]): callers check for `''`.
 */
export function coreToMqttTopic(name: string): string {
  const hit = toMqttCache.get(name);
  if (hit !== undefined) return hit;
  const t = name.includes('/') || name.includes(EMPTY) ? name.split('.').map(segment).join('/') : name.replaceAll('.', '/');
  return remember(toMqttCache, name, t);
}

/** `$share/<group>/<filter>`, split; undefined for an ordinary filter. Throws for a malformed one. */
export function parseShared(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  const group = slash < 0 ? rest : rest.slice(0, slash);
  if (slash <= 0 || group.includes('+') || group.includes('#') || slash === rest.length - 1) {
    throw new JunctionError('ERR_MQTT_TOPIC_INVALID', `Malformed shared subscription '${filter.slice(0, 80)}' (expected $share/<group>/<filter>)`);
  }
  return { group, filter: rest.slice(slash + 1) };
}

/**
 * Encodes a client id or filter as one core name segment: letters, digits, `_` and `-` stay, every
 * other byte becomes `%XX` (core names forbid `.` inside a segment, whitespace and wildcard segments).
 */
export function encodeSegment(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out.length > 0 ? out : '%';
}

/** Whether an MQTT filter matches a topic name ([MQTT-4.7]: `#`/`+` first never match a `$` topic). */
export function mqttMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
