// swift-tools-version:6.1
import PackageDescription

/// The Swift client of Claimline protocol v1 and the protocol's own libraries, in a package of
/// their own: an application that only calls Claimline depends on this folder and gets SwiftNIO
/// and swift-nio-ssl, not the server's store drivers, metrics or lifecycle. The server package
/// (the repository's top level) depends on it for the same protocol code.
let package = Package(
    name: "ClaimlineClient",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ClaimlineClient", targets: ["ClaimlineClient"]),
        .library(name: "ClaimlineCore", targets: ["ClaimlineCore"]),
        .library(name: "ClaimlineCodec", targets: ["ClaimlineCodec"]),
        .library(name: "ClaimlineWire", targets: ["ClaimlineWire"]),
        .library(name: "ClaimlineProtoC", targets: ["ClaimlineProtoC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // libprotobuf-c from Debian (libprotobuf-c-dev).
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c's output for proto/claimline/v1 (committed; `make proto`) and the arena allocator.
        .target(name: "ClaimlineProtoC", dependencies: ["CProtobufC"]),
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
        // Framing: preface, frame header, incremental decoder, encoder, the client's connection machine.
        .target(
            name: "ClaimlineWire",
            dependencies: [
                "ClaimlineCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The reference client: connections, calls, pool, retries, failover, TLS.
        .target(
            name: "ClaimlineClient",
            dependencies: [
                "ClaimlineCore", "ClaimlineCodec", "ClaimlineWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
