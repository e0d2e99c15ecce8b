#!/usr/bin/env bash
# Makes a self-signed certificate authority, a server certificate for localhost / 127.0.0.1 / ::1
# and a client certificate (mTLS) signed by it, for trying Junction's TLS listeners
# (docs/security.md#tls). Not for production: the keys are unencrypted and the CA is your own.
#
#   examples/tls/make-certs.sh DIR [CLIENT_CN]
#
# writes into DIR (created if missing):
#   ca.pem, ca-key.pem          the CA (give ca.pem to clients: --cafile, ca=, tls_set(ca_certs=))
#   server.pem, server-key.pem  the broker's certificate (SAN: DNS:localhost, IP:127.0.0.1, IP:::1)
#   client.pem, client-key.pem  a client certificate, subject CN=CLIENT_CN (default device1), O=Junction Example
set -euo pipefail

dir="${1:?usage: make-certs.sh DIR [CLIENT_CN]}"
cn="${2:-device1}"
days="${DAYS:-825}" # the longest validity Apple platforms accept for a server certificate
mkdir -p "$dir"
cd "$dir"
umask 077
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The CA: a key and a self-signed certificate that may sign others (basicConstraints CA:TRUE).
openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -keyout ca-key.pem -out ca.pem -subj "/O=Junction Example/CN=Junction Example CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# A leaf certificate signed by the CA: $1 name, $2 subject, $3 extensions.
leaf() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$tmp/$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -CAserial "$tmp/ca.srl" \
    -days "$days" -sha256 -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

leaf server "/O=Junction Example/CN=localhost" \
  "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

leaf client "/O=Junction Example/CN=$cn" \
  "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectAltName=email:$cn@example.com"

# Readable by the broker's user only (keys) and by anyone (certificates).
chmod 600 ./*-key.pem
chmod 644 ca.pem server.pem client.pem
echo "made in $(pwd): ca.pem server.pem server-key.pem client.pem client-key.pem (client CN=$cn)"
