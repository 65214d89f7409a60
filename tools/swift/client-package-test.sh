#!/bin/sh
# A throwaway application that needs only the Swift client: it depends on clients/swift alone,
# resolves none of the server's dependencies (store drivers, metrics, lifecycle, logging,
# argument parsing), builds, and completes a contact against a live claimlined.
#
#   tools/swift/client-package-test.sh CLAIMLINED
#
# Works in a temporary folder (its own .build), removed on any exit with the claimlined it started.
set -eu
claimlined=$(realpath "${1:?usage: client-package-test.sh CLAIMLINED}")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
say() { echo "client-package-test: $*"; }

mkdir -p "$tmp/app/Sources/ContactApp"
cat > "$tmp/app/Package.swift" <<SWIFT
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ContactApp",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "$root/clients/swift")],
    targets: [
        .executableTarget(name: "ContactApp", dependencies: [.product(name: "ClaimlineClient", package: "swift")])
    ]
)
SWIFT
cat > "$tmp/app/Sources/ContactApp/main.swift" <<'SWIFT'
import ClaimlineClient
import ClaimlineCore

let port = Int(CommandLine.arguments[1])!
let client = ClaimlineClient(configuration: .init(host: "127.0.0.1", port: port, token: "dev-admin-token", clientName: "contact-app"))
let callID = "APP-\(port)"
let decision = try await client.escalate(
    EscalateRequest(
        idempotencyKey: "app-escalate-\(port)", callId: callID,
        subscriber: Subscriber(msisdn: "+79161234567", valueTier: .tier2, region: "77"),
        category: CategoryRef(group: .billing, category: .chargedWhileBlocked), agentId: "ivr-7"
    )
)
let retention = try await client.retain(
    RetainRequest(idempotencyKey: "app-retain-\(port)", callId: callID, outcome: .impossible, failureReason: .longReview, agentId: "agent-1")
)
guard var claim = retention.draft else { fatalError("no draft") }
claim.description = "Списание средств во время блокировки."
claim.idempotencyKey = "app-file-\(port)"
let filed = try await client.fileComplaint(claim)
print("decision \(decision.decision) claim \(filed.claimNumber)")
await client.close()
SWIFT

cd "$tmp/app"
swift package resolve > "$tmp/resolve.log" 2>&1 || { cat "$tmp/resolve.log"; exit 1; }
resolved=$(ls .build/checkouts | sort | tr '\n' ' ')
allowed="swift-atomics swift-collections swift-nio swift-nio-ssl swift-system"
for package in $resolved; do
    case " $allowed " in *" $package "*) ;; *) say "resolved a package the client does not need: $package (all: $resolved)"; exit 1 ;; esac
done
say "resolved only: $resolved"
swift build > "$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$claimlined" --listen 127.0.0.1:$port --data-dir "$tmp/data" --config "$root/config/claimline.json" --log-level warning \
    > "$tmp/claimlined.log" 2>&1 &
pid=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { say "claimlined did not start"; cat "$tmp/claimlined.log"; exit 1; }
    sleep 0.1
done
out=$(.build/debug/ContactApp $port)
case "$out" in
    "decision transferToSecondLine claim "2*) say "ok: $out" ;;
    *) say "unexpected output: $out"; exit 1 ;;
esac
