/**
 * Address wildcards (ActiveMQ Classic): `*` matches one segment, `>` the rest (zero or more
 * segments when it is last). `#` is accepted as a synonym of `>` in address settings (Artemis).
 */

export function isWildcard(name: string): boolean {
  return name.split('.').some((s) => s === '*' || s === '>' || s === '#');
}

/** Whether a wildcard pattern matches a concrete address name. */
export function wildcardMatches(pattern: string, name: string): boolean {
  return matchSegments(pattern.split('.'), 0, name.split('.'), 0);
}

function matchSegments(p: string[], i: number, n: string[], j: number): boolean {
  // Iterative except for nothing: `>` is only meaningful as the last segment, so no backtracking.
  for (; i < p.length; i++, j++) {
    const seg = p[i];
    if (seg === '>' || seg === '#') return true;
    if (j >= n.length) return false;
    if (seg !== '*' && seg !== n[j]) return false;
  }
  return j === n.length;
}

/**
 * Specificity of a pattern for "most specific wins": compared segment by segment, a literal
 * beats `*`, which beats `>`; a longer literal prefix wins. A pattern that has ended beats a `>`
 * (both match the shorter name, `>` matching zero segments: `orders` beats `orders.>` for `orders`).
 */
export function compareSpecificity(a: string, b: string): number {
  const sa = a.split('.');
  const sb = b.split('.');
  const rank = (s: string | undefined): number => (s === '>' || s === '#' ? 0 : s === undefined ? 1 : s === '*' ? 2 : 3);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const d = rank(sa[i]) - rank(sb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  values: Set<T>;
}

function node<T>(): TrieNode<T> {
  return { children: new Map(), values: new Set() };
}

/**
 * Subscription patterns indexed by segment (a subject trie, as nats-server's sublist):
 * `match(name)` finds every value whose pattern matches a concrete name without scanning all patterns.
 */
export class WildcardIndex<T> {
  private readonly root: TrieNode<T> = node();

  add(pattern: string, value: T): void {
    let n = this.root;
    for (const seg of normalise(pattern)) {
      let c = n.children.get(seg);
      if (!c) n.children.set(seg, (c = node()));
      n = c;
    }
    n.values.add(value);
  }

  remove(pattern: string, value: T): void {
    const path: Array<[TrieNode<T>, string]> = [];
    let n: TrieNode<T> | undefined = this.root;
    for (const seg of normalise(pattern)) {
      const c: TrieNode<T> | undefined = n.children.get(seg);
      if (!c) return;
      path.push([n, seg]);
      n = c;
    }
    n.values.delete(value);
    // Prune empty branches so the trie does not grow with churned subscriptions.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, seg] = path[i]!;
      const child = parent.children.get(seg)!;
      if (child.values.size > 0 || child.children.size > 0) break;
      parent.children.delete(seg);
    }
  }

  match(name: string): Set<T> {
    const out = new Set<T>();
    collect(this.root, name.split('.'), 0, out);
    return out;
  }
}

function normalise(pattern: string): string[] {
  return pattern.split('.').map((s) => (s === '#' ? '>' : s));
}

function collect<T>(n: TrieNode<T>, segs: string[], i: number, out: Set<T>): void {
  const rest = n.children.get('>');
  if (rest) for (const v of rest.values) out.add(v);
  if (i === segs.length) {
    for (const v of n.values) out.add(v);
    return;
  }
  const lit = n.children.get(segs[i]!);
  if (lit) collect(lit, segs, i + 1, out);
  const star = n.children.get('*');
  if (star) collect(star, segs, i + 1, out);
}
