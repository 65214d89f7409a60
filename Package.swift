// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Claimline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ClaimlineCore", targets: ["ClaimlineCore"]),
        .library(name: "ClaimlineCodec", targets: ["ClaimlineCodec"]),
        .library(name: "ClaimlineWire", targets: ["ClaimlineWire"]),
        .executable(name: "claimlined", targets: ["claimlined"]),
        .executable(name: "claimline", targets: ["claimline"]),
        .library(name: "ClaimlineClient", targets: ["ClaimlineClient"]),
        .executable(name: "claimline-load", targets: ["claimline-load"]),
        .executable(name: "claimline-codec-bench", targets: ["claimline-codec-bench"]),
        .executable(name: "claimline-vectors", targets: ["claimline-vectors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libprotobuf-c from Debian (libprotobuf-c-dev).
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c's output for proto/claimline/v1 (committed; `make proto`) and the arena allocator.
        .target(
            name: "ClaimlineProtoC",
            dependencies: ["CProtobufC"]
        ),
        // Status codes, errors, deadlines, methods and the message value types: no NIO, no C.
        .target(name: "ClaimlineCore"),
        // Swift value types <-> libprotobuf-c, encoding straight into NIO ByteBuffers.
        .target(
            name: "ClaimlineCodec",
            dependencies: [
                "ClaimlineCore", "ClaimlineProtoC", "CProtobufC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // SQLite from Debian (libsqlite3-dev), used directly: the writer owns its connection.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The decision rules of DOMAIN.md, loaded from a policy file: pure, no I/O.
        .target(name: "ClaimlinePolicy", dependencies: ["ClaimlineCore"]),
        // The store's protocols and records, and the in-memory store for tests.
        .target(name: "ClaimlineStore", dependencies: ["ClaimlineCore"]),
        // The embedded default store: SQLite in WAL mode, fsync per batch, versioned migrations.
        .target(
            name: "ClaimlineStoreSQLite",
            dependencies: ["ClaimlineCore", "ClaimlineStore", "CSQLite"]
        ),
        // Several claimlined on one PostgreSQL database (postgres-nio): batches in one transaction,
        // transitions serialized by advisory locks, numbers leased in blocks, LISTEN/NOTIFY.
        .target(
            name: "ClaimlineStorePostgres",
            dependencies: [
                "ClaimlineCore", "ClaimlineStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // claimlined's library: session manager, group-commit writer, handlers, readers.
        .target(
            name: "ClaimlineServer",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire", "ClaimlinePolicy", "ClaimlineStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The reference client: connections, calls, (issue 4) pool, retries, CLI.
        .target(
            name: "ClaimlineClient",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "clients/swift/Sources/ClaimlineClient"
        ),
        // The load-test harness: scheduling (closed and open loop), histograms, reports.
        .target(
            name: "ClaimlineLoad",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "claimline-load",
            dependencies: [
                "ClaimlineLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "claimline",
            dependencies: [
                "ClaimlineClient", "ClaimlineCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "clients/swift/Sources/claimline-cli"
        ),
        // Framing: preface, frame header, incremental decoder, encoder and their NIO handlers.
        .target(
            name: "ClaimlineWire",
            dependencies: [
                "ClaimlineCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The golden vectors' catalogue and renderings, shared by the tool and the tests.
        .target(
            name: "ClaimlineVectors",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "claimlined",
            dependencies: [
                "ClaimlineServer", "ClaimlinePolicy", "ClaimlineStoreSQLite", "ClaimlineStorePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
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
                "ClaimlineCore", "ClaimlineCodec", "CMallocCounter",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/claimline-codec-bench"
        ),
        .testTarget(name: "ClaimlineCoreTests", dependencies: ["ClaimlineCore"]),
        // A real PostgreSQL for the tests: the cluster `make test` started, or one of their own.
        .target(name: "ClaimlineTestSupport", path: "Tests/ClaimlineTestSupport"),
        .testTarget(
            name: "ClaimlineLoadTests",
            dependencies: [
                "ClaimlineLoad", "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "claimline-store-bench",
            dependencies: ["ClaimlineCore", "ClaimlineStore", "ClaimlineStoreSQLite"],
            path: "Benchmarks/claimline-store-bench"
        ),
        .testTarget(
            name: "ClaimlinePolicyTests",
            dependencies: ["ClaimlineCore", "ClaimlinePolicy"]
        ),
        .testTarget(
            name: "ClaimlineStoreTests",
            dependencies: [
                "ClaimlineCore", "ClaimlineStore", "ClaimlineStoreSQLite", "ClaimlineStorePostgres", "ClaimlineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ClaimlineEndToEndTests",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire", "ClaimlinePolicy", "ClaimlineStore",
                "ClaimlineStoreSQLite", "ClaimlineStorePostgres", "ClaimlineServer", "ClaimlineClient", "ClaimlineLoad",
                "ClaimlineTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The server's pieces without sockets: registry, state machines, handlers on EmbeddedChannel.
        .testTarget(
            name: "ClaimlineServerTests",
            dependencies: [
                "ClaimlineServer", "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire", "ClaimlineStore", "ClaimlinePolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ClaimlineCodecTests",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineProtoC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ClaimlineWireTests",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire", "ClaimlineVectors",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
