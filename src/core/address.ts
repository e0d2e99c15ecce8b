import { JunctionError } from '../errors.ts';
import { isWildcard } from './wildcard.ts';

/** Concrete names already found valid: sends to the same few addresses skip the checks. */
const valid = new Set<string>();

/** Address names: non-empty dot-separated segments without whitespace; wildcards only where allowed. */
export function validateAddress(name: string, use: 'send' | 'queue' | 'subscribe' | 'subscription'): void {
  if (valid.has(name)) return;
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
    throw new JunctionError('ERR_ADDRESS_INVALID', `Invalid address name '${String(name).slice(0, 80)}'`);
  }
  if (/[\s\u0000-\u001f]/.test(name) || name.split('.').some((s) => s.length === 0)) {
    throw new JunctionError('ERR_ADDRESS_INVALID', `Invalid address name '${name.slice(0, 80)}': empty segment or whitespace`);
  }
  if (isWildcard(name)) {
    if (use !== 'subscribe') throw new JunctionError('ERR_ADDRESS_INVALID', `Wildcards are not allowed here: '${name}'`);
    return;
  }
  if (valid.size >= 10_000) valid.clear();
  valid.add(name);
}
