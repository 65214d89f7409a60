#!/bin/sh
# Regenerates every file derived from proto/claimline/v1/*.proto under OUT_ROOT
# (the repository for `make proto`, a temporary folder for the staleness check):
#   protoc-c's C code         Sources/ClaimlineProtoC/{claimline/v1/*.pb-c.c,include/claimline/v1/*.pb-c.h}
#   Swift value types         Sources/ClaimlineCore/Generated/
#   Swift <-> C mapping       Sources/ClaimlineCodec/Generated/
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root/proto"
protoc-c --c_out="$tmp" claimline/v1/*.proto
protoc --descriptor_set_out="$tmp/descriptors.pb" --include_imports claimline/v1/*.proto
mkdir -p "$out/Sources/ClaimlineProtoC/claimline/v1" "$out/Sources/ClaimlineProtoC/include/claimline/v1"
rm -f "$out"/Sources/ClaimlineProtoC/claimline/v1/*.pb-c.c "$out"/Sources/ClaimlineProtoC/include/claimline/v1/*.pb-c.h
cp "$tmp"/claimline/v1/*.pb-c.c "$out/Sources/ClaimlineProtoC/claimline/v1/"
cp "$tmp"/claimline/v1/*.pb-c.h "$out/Sources/ClaimlineProtoC/include/claimline/v1/"
rm -rf "$out/Sources/ClaimlineCore/Generated" "$out/Sources/ClaimlineCodec/Generated"
python3 "$root/tools/codegen/gen_swift.py" "$tmp/descriptors.pb" "$out"
