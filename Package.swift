// swift-tools-version:6.0
// Hometown: a live-stream commerce session server.
// No Swift package dependencies by design: C libraries come in through system library targets
// (OpenSSL) and our own small C target for the Linux calls Glibc does not expose (epoll & co).
import PackageDescription

// The fan-out path calls Connection.enqueue once per subscriber per message; profiling the
// 1,000-subscriber benchmark showed dynamic exclusivity checks (swift_beginAccess, with its
// thread-local lookup) as the largest user-space cost there. Release builds of the hot modules
// skip them; debug builds, which run the tests, keep them on and would catch a violation.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

/// Swift 6's data-race checking, for every module that builds under it (see the end of the file).
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Hometown",
    products: [
        .executable(name: "hometown", targets: ["Hometown"]),
        .executable(name: "hometown-load", targets: ["HometownLoad"]),
        .executable(name: "hometown-codec-bench", targets: ["CodecBenchmark"]),
        .library(name: "WebSocket", targets: ["WebSocket"]),
        .library(name: "Transport", targets: ["Transport"]),
        .library(name: "Gateway", targets: ["Gateway"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .target(name: "CLinux"),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        // Sans-IO RFC 6455: HTTP upgrade head, handshake, frames, UTF-8, close codes. Never touches a socket.
        .target(name: "WebSocket", dependencies: ["COpenSSL"], swiftSettings: swift6),
        // The build's version, shared by the server and the load tool.
        .target(name: "BuildInfo", swiftSettings: swift6),
        // Sans-IO RESP2: the Redis wire format, encoded and decoded in any chunking. Never touches a socket.
        .target(name: "RESP", swiftSettings: swift6),
        // Redis connections on our own event loops (pipelined, bounded, reconnecting), and a blocking one.
        .target(name: "RedisClient", dependencies: ["RESP", "Transport", "CLinux"], swiftSettings: swift6),
        // Cluster mode: leases with fencing tokens, fenced Lua scripts, room state and orders in Redis.
        .target(
            name: "Cluster", dependencies: ["RESP", "RedisClient", "LiveRoom", "JSON", "COpenSSL", "OrderJournal"], swiftSettings: swift6),
        // epoll event loops, sockets, outbound queues, timers, shared frame bytes.
        .target(name: "Transport", dependencies: ["CLinux", "COpenSSL"], swiftSettings: hotPathSettings + swift6),
        // The server: upgrade routing, WebSocket sessions over the transport, endpoints, configuration.
        .target(
            name: "Gateway",
            dependencies: [
                "WebSocket", "Transport", "JSON", "LiveRoom", "Auth", "OrderJournal", "Cluster", "RedisClient", "BuildInfo", "Webhooks",
            ],
            resources: [.copy("Web")], swiftSettings: hotPathSettings + swift6),
        // The live selling room: pure domain logic, no I/O, no dependencies.
        .target(name: "LiveRoom", swiftSettings: swift6),
        // Durable rooms and orders: SQLite in WAL mode behind the OrderStore seam, group commit.
        .target(name: "OrderJournal", dependencies: ["CSQLite", "LiveRoom", "Transport", "JSON"], swiftSettings: swift6),
        // A strict JSON parser and a streaming writer: config files, the room wire codec, the load tool's reports.
        .target(name: "JSON", swiftSettings: swift6),
        // The webhook outbox's delivery: signed HTTP POSTs from threads of its own, retried and parked.
        .target(name: "Webhooks", dependencies: ["OrderJournal", "Auth", "Transport", "JSON"], swiftSettings: swift6),
        // A small blocking WebSocket client (tests, the load tool's skeleton).
        .target(name: "WebSocketClient", dependencies: ["WebSocket"], swiftSettings: swift6),
        .executableTarget(
            name: "Hometown", dependencies: ["Gateway", "Auth", "LiveRoom", "BuildInfo", "Cluster", "OrderJournal", "RedisClient"],
            swiftSettings: swift6),
        .executableTarget(
            name: "HometownLoad",
            dependencies: ["WebSocket", "WebSocketClient", "Transport", "CLinux", "Auth", "JSON", "BuildInfo", "Webhooks"],
            path: "LoadTests/HometownLoad"),
        .executableTarget(name: "CodecBenchmark", dependencies: ["WebSocket", "Transport"], path: "LoadTests/CodecBenchmark"),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP"]),
        .testTarget(
            name: "ClusterTests", dependencies: ["Cluster", "RedisClient", "RESP", "LiveRoom", "Transport", "TestSupport", "OrderJournal"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "TestSupport"]),
        // HS256 JWTs (HMAC through OpenSSL): who is connecting.
        .target(name: "Auth", dependencies: ["COpenSSL", "JSON", "WebSocket"], swiftSettings: swift6),
        .testTarget(name: "LiveRoomTests", dependencies: ["LiveRoom"]),
        .target(name: "TestSupport", dependencies: ["OrderJournal", "LiveRoom", "Transport", "RedisClient"], path: "Tests/TestSupport"),
        .testTarget(name: "OrderJournalTests", dependencies: ["OrderJournal", "LiveRoom", "TestSupport", "Transport"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "JSON"]),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks", "Auth"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "HometownLoadTests", dependencies: ["HometownLoad", "JSON", "TestSupport"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "JSON", "Auth", "Transport", "WebSocket", "OrderJournal", "LiveRoom", "TestSupport", "BuildInfo"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Gateway", "WebSocket", "WebSocketClient", "Transport", "Auth", "JSON", "LiveRoom", "OrderJournal", "TestSupport",
                "BuildInfo", "Webhooks",
            ]),
    ],
    // Every library module and the server executable build in the Swift 6 language mode (`swift6`
    // above): loop-owned state crosses threads only inside `LoopBound` or `@Sendable` tasks, and each
    // `@unchecked Sendable` says why it is safe. The load tool and the test targets stay in Swift 5
    // mode: the load tool's per-loop client objects (`Viewer`, `Streamer`) are still captured by its
    // setup and snapshot tasks without `LoopBound`, and tests share tallies across threads freely.
    swiftLanguageModes: [.v5]
)
