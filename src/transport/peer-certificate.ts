import type { TLSSocket } from 'node:tls';
import type { PeerCertificate } from '../core/ports/security.ts';

/**
 * The client certificate of a TLS connection as the security ports name it ({@link PeerCertificate}):
 * only one the listener verified against `tls.ca` (`socket.authorized`). With `clientAuth: want` a
 * client may present a certificate that does not verify and still connect: it gets no identity from
 * it, as Artemis's `wantClientAuth` gives an unverified client none.
 */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  if (!socket.authorized) return undefined;
  const x = socket.getPeerX509Certificate();
  if (x === undefined) return undefined;
  return { subject: rfc4514(x.subject), subjectAltNames: parseSubjectAltNames(x.subjectAltName), fingerprint256: x.fingerprint256 };
}

/**
 * Node's multi-line subject (`X509Certificate.subject`: one RDN a line, in certificate order, the
 * values escaped per RFC 2253 and control characters as `\XX`, multi-valued RDNs joined by ` + `) as
 * an RFC 4514 string: the RDNs in reverse order (RFC 4514 §2.1: the last RDN of the sequence first),
 * comma-separated, multi-valued ones joined by `+`. `C=US\nO=Acme\nCN=device1` → `CN=device1,O=Acme,C=US`.
 * An escaped `+` (`\+`) inside a value is not a separator: RFC 2253 escaping always precedes it with `\`.
 */
export function rfc4514(multiline: string): string {
  if (multiline === '') return '';
  return multiline
    .split('\n')
    .reverse()
    .map((rdn) => rdn.split(/(?<!\\) \+ /).join('+'))
    .join(',');
}

/**
 * Node's `subjectAltName` text (`DNS:a, IP Address:127.0.0.1, email:x@y`) as its entries. Since Node
 * 17.3 / 16.13.2 (CVE-2021-44532) a value that would be ambiguous (a `,` in it) is written as a JSON
 * string (`DNS:"a, b"`); such a value is decoded, so a SAN cannot forge a second entry.
 */
export function parseSubjectAltNames(text: string | undefined): string[] {
  const out: string[] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote (a `\"` inside is escaped).
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      next = text.indexOf(', ', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? undefined : next);
    }
    out.push(`${type}:${value}`);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}
