// swift-tools-version:6.1
import PackageDescription

/// The server package: claimlined, its stores, the CLI, the load harness and the benchmarks.
/// The protocol's libraries and the Swift client are the package in clients/swift (package
/// "swift" here, SwiftPM names a local package by its folder), which applications use alone.
let client = "swift"

let package = Package(
    name: "Claimline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "claimlined", targets: ["claimlined"]),
        .executable(name: "claimline", targets: ["claimline"]),
        .executable(name: "claimline-load", targets: ["claimline-load"]),
        .executable(name: "claimline-codec-bench", targets: ["claimline-codec-bench"]),
        .executable(name: "claimline-vectors", targets: ["claimline-vectors"]),
        .executable(name: "claimline-echo", targets: ["claimline-echo"]),
    ],
    dependencies: [
        .package(path: "clients/swift"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // SQLite from Debian (libsqlite3-dev), used directly: the writer owns its connection.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The decision rules of DOMAIN.md, loaded from a policy file: pure, no I/O.
        .target(name: "ClaimlinePolicy", dependencies: [.product(name: "ClaimlineCore", package: client)]),
        // The store's protocols and records, and the in-memory store for tests.
        .target(name: "ClaimlineStore", dependencies: [.product(name: "ClaimlineCore", package: client)]),
        // The embedded default store: SQLite in WAL mode, fsync per batch, versioned migrations.
        .target(
            name: "ClaimlineStoreSQLite",
            dependencies: [.product(name: "ClaimlineCore", package: client), "ClaimlineStore", "CSQLite"]
        ),
        // Several claimlined on one PostgreSQL database (postgres-nio): batches in one transaction,
        // transitions serialized by advisory locks, numbers leased in blocks, LISTEN/NOTIFY.
        .target(
            name: "ClaimlineStorePostgres",
            dependencies: [
                .product(name: "ClaimlineCore", package: client), "ClaimlineStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // claimlined's library: session manager, group-commit writer, handlers, readers, the
        // admin listener (metrics, probes). Records metrics through swift-metrics only.
        .target(
            name: "ClaimlineServer",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                "ClaimlinePolicy", "ClaimlineStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The load-test harness: scheduling (closed and open loop), histograms, reports.
        .target(
            name: "ClaimlineLoad",
            dependencies: [
                .product(name: "ClaimlineClient", package: client),
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "claimline-load",
            dependencies: [
                "ClaimlineLoad", .product(name: "ClaimlineClient", package: client),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The command-line client, on ClaimlineClient.
        .executableTarget(
            name: "claimline",
            dependencies: [
                .product(name: "ClaimlineClient", package: client),
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The golden vectors' catalogue and renderings, shared by the tool and the tests.
        .target(
            name: "ClaimlineVectors",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "claimlined",
            dependencies: [
                "ClaimlineServer", "ClaimlinePolicy", "ClaimlineStoreSQLite", "ClaimlineStorePostgres",
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "claimline-vectors",
            dependencies: ["ClaimlineVectors"],
            path: "Sources/claimline-vectors"
        ),
        // Counts mallocs by interposing them; linked into benchmarks only.
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        .executableTarget(
            name: "claimline-codec-bench",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                "CMallocCounter",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/claimline-codec-bench"
        ),
        // The transport's ceiling for make bench: Claimline's framing and handshake, no work.
        .executableTarget(
            name: "claimline-echo",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/claimline-echo"
        ),
        // Fills a fresh SQLite store with millions of realistic rows through the writer's API.
        .target(
            name: "ClaimlinePreload",
            dependencies: [.product(name: "ClaimlineCore", package: client), "ClaimlineStore", "ClaimlineStoreSQLite", "ClaimlineLoad"],
            path: "Benchmarks/ClaimlinePreload"
        ),
        .executableTarget(
            name: "claimline-store-bench",
            dependencies: [.product(name: "ClaimlineCore", package: client), "ClaimlineStore", "ClaimlineStoreSQLite", "ClaimlinePreload"],
            path: "Benchmarks/claimline-store-bench"
        ),
        .testTarget(name: "ClaimlineCoreTests", dependencies: [.product(name: "ClaimlineCore", package: client)]),
        // A real PostgreSQL for the tests: the cluster `make test` started, or one of their own.
        .target(name: "ClaimlineTestSupport", dependencies: ["ClaimlineLoad"], path: "Tests/ClaimlineTestSupport"),
        .testTarget(
            name: "ClaimlineLoadTests",
            dependencies: [
                "ClaimlineLoad",
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(
            name: "ClaimlinePolicyTests",
            dependencies: [.product(name: "ClaimlineCore", package: client), "ClaimlinePolicy"]
        ),
        .testTarget(
            name: "ClaimlineStoreTests",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                "ClaimlineStore", "ClaimlineStoreSQLite", "ClaimlineStorePostgres", "ClaimlineTestSupport", "ClaimlinePreload",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ClaimlineEndToEndTests",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                .product(name: "ClaimlineClient", package: client),
                "ClaimlinePolicy", "ClaimlineStore", "ClaimlineStoreSQLite", "ClaimlineStorePostgres", "ClaimlineServer",
                "ClaimlineLoad", "ClaimlineTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The server's pieces without sockets: registry, state machines, handlers on EmbeddedChannel.
        .testTarget(
            name: "ClaimlineServerTests",
            dependencies: [
                "ClaimlineServer",
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                "ClaimlineStore", "ClaimlinePolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ClaimlineCodecTests",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineProtoC", package: client),
                .product(name: "NIOCore", package: "swift-nio"),
                "ClaimlineTestSupport",
            ]
        ),
        .testTarget(
            name: "ClaimlineWireTests",
            dependencies: [
                .product(name: "ClaimlineCore", package: client),
                .product(name: "ClaimlineCodec", package: client),
                .product(name: "ClaimlineWire", package: client),
                "ClaimlineVectors", "ClaimlineTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
