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
        .target(name: "WebSocket", dependencies: ["COpenSSL"]),
        // epoll event loops, sockets, outbound queues, timers, shared frame bytes.
        .target(name: "Transport", dependencies: ["CLinux", "COpenSSL"], swiftSettings: hotPathSettings),
        // The server: upgrade routing, WebSocket sessions over the transport, endpoints, configuration.
        .target(
            name: "Gateway", dependencies: ["WebSocket", "Transport", "JSON", "LiveRoom", "Auth", "OrderJournal"],
            resources: [.copy("Web")], swiftSettings: hotPathSettings),
        // The live selling room: pure domain logic, no I/O, no dependencies.
        .target(name: "LiveRoom"),
        // Durable rooms and orders: SQLite in WAL mode behind the OrderStore seam, group commit.
        .target(name: "OrderJournal", dependencies: ["CSQLite", "LiveRoom", "Transport"]),
        // A strict JSON parser and a streaming writer: config files now, the room wire codec next.
        .target(name: "JSON"),
        // A small blocking WebSocket client (tests, the load tool's skeleton).
        .target(name: "WebSocketClient", dependencies: ["WebSocket"]),
        .executableTarget(name: "Hometown", dependencies: ["Gateway", "Auth"]),
        .executableTarget(
            name: "HometownLoad", dependencies: ["WebSocket", "WebSocketClient", "Transport", "CLinux", "Auth", "JSON"],
            path: "LoadTests/HometownLoad"),
        .executableTarget(name: "CodecBenchmark", dependencies: ["WebSocket"], path: "LoadTests/CodecBenchmark"),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport"]),
        // HS256 JWTs (HMAC through OpenSSL): who is connecting.
        .target(name: "Auth", dependencies: ["COpenSSL", "JSON", "WebSocket"]),
        .testTarget(name: "LiveRoomTests", dependencies: ["LiveRoom"]),
        .target(name: "TestSupport", dependencies: ["OrderJournal", "LiveRoom"], path: "Tests/TestSupport"),
        .testTarget(name: "OrderJournalTests", dependencies: ["OrderJournal", "LiveRoom", "TestSupport"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "JSON"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "HometownLoadTests", dependencies: ["HometownLoad", "JSON"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "JSON"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Gateway", "WebSocket", "WebSocketClient", "Transport", "Auth", "JSON", "LiveRoom", "OrderJournal", "TestSupport",
            ]),
    ],
    // The event loops confine state to their own thread by construction; Swift 6's checker cannot see
    // epoll thread ownership, so we use the Swift 5 language mode and spell confinement out in comments.
    swiftLanguageModes: [.v5]
)
