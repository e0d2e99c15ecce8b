import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes: scrypt (node:crypto, memory-hard) in a PHC-style string
 * `$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>` (unpadded standard base64, as the PHC string format).
 * The cost parameters are read from each string, so raising {@link DEFAULT_SCRYPT} later leaves
 * every stored hash verifiable, and {@link needsRehash} says which ones to re-hash.
 */

/** scrypt cost: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and tens of ms per hash (RFC 7914's interactive-login range). */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ ln: 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/**
 * Bounds on parameters read from a string: a tampered users file must not make the broker allocate
 * gigabytes (128 * r * 2^ln bytes) or spin for minutes on one login.
 */
const MAX_LN = 20;
const MAX_R = 16;
const MAX_P = 4;
const MAX_MEMORY = 128 * MAX_R * 2 ** MAX_LN * 2;

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{16,88})$/;

/** A parsed hash string; undefined when it is not one this module reads. */
export interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Parses a PHC scrypt string, or returns undefined (malformed, tampered, parameters out of bounds). */
export function parseHash(phc: string): ParsedHash | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (!validParams(params)) return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  // Non-canonical base64 (a changed trailing character that decodes to the same bytes) is a tampered string.
  if (b64(salt) !== m[4] || b64(hash) !== m[5] || hash.length < 16) return undefined;
  return { params, salt, hash };
}

function validParams(x: ScryptParams): boolean {
  return x.ln >= 1 && x.ln <= MAX_LN && x.r >= 1 && x.r <= MAX_R && x.p >= 1 && x.p <= MAX_P;
}

function b64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Async: the KDF runs on libuv's pool while the event loop keeps serving.
    scrypt(password.normalize('NFC'), salt, length, { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (!validParams(params)) throw new RangeError(`scrypt parameters out of bounds: ln=${params.ln},r=${params.r},p=${params.p}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/**
 * Whether `password` matches the hash string, compared in constant time. A string that does not
 * parse never matches (and costs one default-parameter KDF run like any other, so it cannot be told
 * apart by time).
 */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parseHash(phc);
  if (!parsed) {
    await burn(password);
    return false;
  }
  const actual = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(actual, parsed.hash);
}

let dummySalt: Buffer | undefined;

/**
 * Spends one default KDF run and answers nothing: the login of an unknown user takes as long as a
 * wrong password for a known one, so response time does not tell which user names exist.
 */
export async function burn(password: string): Promise<void> {
  dummySalt ??= randomBytes(SALT_BYTES);
  await derive(password, dummySalt, DEFAULT_SCRYPT, HASH_BYTES);
}

/** Whether a stored hash is weaker than `params` (or unreadable), so a password change should re-hash it. */
export function needsRehash(phc: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parseHash(phc);
  if (!parsed) return true;
  const p = parsed.params;
  return p.ln < params.ln || p.r < params.r || p.p < params.p;
}
