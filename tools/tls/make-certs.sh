#!/bin/sh
# Makes a throwaway certificate authority and certificates for tests and local TLS runs, with
# the openssl command-line tool, into DIR (created; existing files are replaced). Nothing made
# here is ever committed: tests run it at test time into a temporary folder.
#
#   tools/tls/make-certs.sh DIR
#
#   ca.pem ca.key                  the test CA (CN=Claimline Test CA)
#   server.pem server.key          the server: CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   named.pem named.key            the server by name only: CN=localhost, SAN DNS:localhost (no IP)
#   admin.pem admin.key            a client: CN=ops-console,O=Claimline Test    (mapped to admin in tests)
#   ivr.pem ivr.key                a client: CN=ivr-gateway,O=Claimline Test    (mapped to ivr)
#   stranger.pem stranger.key      a client the CA signed whose subject no client is configured with
#   rogue-ca.pem rogue.pem rogue.key  a client signed by another CA (must fail verification)
set -eu
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=30
quiet() { "$@" >/dev/null 2>&1 || { echo "make-certs.sh: failed: $*" >&2; "$@"; exit 1; }; }

ca() {  # name subject
    quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days $days \
        -subj "$2" -keyout "$1.key" -out "$1.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

leaf() {  # name subject ca extensions
    quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr"
    printf '%s\n' "$4" > "$1.ext"
    quiet openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days $days -out "$1.pem" -extfile "$1.ext"
    rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=Claimline Test CA"
leaf server "/CN=localhost" ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf named "/CN=localhost" ca "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth"
leaf admin "/O=Claimline Test/CN=ops-console" ca "extendedKeyUsage=clientAuth"
leaf ivr "/O=Claimline Test/CN=ivr-gateway" ca "extendedKeyUsage=clientAuth"
leaf stranger "/O=Claimline Test/CN=stranger" ca "extendedKeyUsage=clientAuth"
ca rogue-ca "/CN=Rogue CA"
leaf rogue "/O=Claimline Test/CN=ops-console" rogue-ca "extendedKeyUsage=clientAuth"
rm -f ./*.srl
chmod 600 ./*.key
