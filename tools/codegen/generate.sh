#!/bin/sh
# Regenerates every file derived from proto/claimline/v1/*.proto under OUT_ROOT
# (the repository for `make proto`, a temporary folder for the staleness check):
#   protoc-c's C code         clients/swift/Sources/ClaimlineProtoC/Generated/claimline/v1/*.pb-c.c
#                             clients/swift/Sources/ClaimlineProtoC/include/claimline/v1/*.pb-c.h
#                             (SwiftPM wants a C target's public headers under include/;
#                             the .c files include "claimline/v1/<name>.pb-c.h")
#   Swift value types         clients/swift/Sources/ClaimlineCore/Generated/ (gen_swift.py)
#   Swift <-> C mapping       clients/swift/Sources/ClaimlineCodec/Generated/ (gen_swift.py)
#   method tables             clients/swift/Sources/ClaimlineCore/Generated/Methods.swift,
#     (gen_methods.py, from   Sources/ClaimlineServer/Session/Generated/ (routes),
#     the service block)      clients/swift/Sources/ClaimlineClient/Generated/,
#                             clients/c/include/claimline_methods.h,
#                             clients/python/claimline/methods.py,
#                             proto/PROTOCOL.md between its methods:begin/end markers
# `make check-proto` diffs these against the committed ones; clients/c compiles the .c files
# (its PROTOC_C_DIR). Everything written here is marked generated in .gitattributes (whole
# files only: not PROTOCOL.md). Add a new output to all three: here, check-proto, .gitattributes.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc_c="$out/clients/swift/Sources/ClaimlineProtoC"
cd "$root/proto"
protoc-c --c_out="$tmp" claimline/v1/*.proto
protoc --descriptor_set_out="$tmp/descriptors.pb" --include_imports claimline/v1/*.proto
mkdir -p "$protoc_c/Generated/claimline/v1" "$protoc_c/include/claimline/v1"
rm -f "$protoc_c"/Generated/claimline/v1/*.pb-c.c "$protoc_c"/include/claimline/v1/*.pb-c.h
cp "$tmp"/claimline/v1/*.pb-c.c "$protoc_c/Generated/claimline/v1/"
cp "$tmp"/claimline/v1/*.pb-c.h "$protoc_c/include/claimline/v1/"
rm -rf "$out/clients/swift/Sources/ClaimlineCore/Generated" "$out/clients/swift/Sources/ClaimlineCodec/Generated"
python3 "$root/tools/codegen/gen_swift.py" "$tmp/descriptors.pb" "$out"
# The method tables (server routes, Swift/C/Python clients, PROTOCOL.md section 4) from the
# service block; PROTOCOL.md is rewritten in place, so a temporary OUT_ROOT gets a copy first.
if [ "$out" != "$root" ]; then mkdir -p "$out/proto" && cp "$root/proto/PROTOCOL.md" "$out/proto/PROTOCOL.md"; fi
python3 "$root/tools/codegen/gen_methods.py" "$root/proto" "$out"
