import Foundation
import Gateway
import Glibc
import TestSupport
import Testing
import WebSocket
import WebSocketClient

@Suite("Limits against abuse, each one tripped", .serialized)
struct LimitsEndToEndTests {
    func upgradeStatus(_ server: HometownServer, path: String = "/echo", origin: String? = nil) -> Int {
        guard let client = try? BlockingWebSocketClient(port: server.port, timeout: 5, upgrade: false) else { return -1 }
        var request = "GET \(path) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { request += "Origin: \(origin)\r\n" }
        try? client.sendRaw(Array((request + "\r\n").utf8))
        guard let head = try? client.readHTTPHead() else { return -1 }
        return Int(head.split(separator: " ")[1]) ?? -1
    }

    @Test func perIPConnectionLimitAnswers503() throws {
        try withServer({ $0.limits.maxConnectionsPerIP = 3 }) { server in
            var open = try (0..<3).map { _ in try BlockingWebSocketClient(port: server.port) }
            #expect(upgradeStatus(server) == 503)
            open.removeLast()  // one leaves
            #expect(eventually { upgradeStatus(server) == 101 })
            _ = open
        }
    }

    @Test func totalConnectionLimitAnswers503() throws {
        try withServer({ $0.limits.maxConnections = 2 }) { server in
            let held = try (0..<2).map { _ in try BlockingWebSocketClient(port: server.port) }
            #expect(upgradeStatus(server) == 503)
            // Full is busy, not dead: the operator's probes are still answered.
            for path in ["/healthz", "/readyz", "/metrics"] {
                #expect(try rawHTTP(server, "GET \(path) HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200"), "\(path)")
            }
            _ = held
        }
    }

    @Test func connectionRatePerIPAnswers429() throws {
        try withServer({ $0.limits.connectionRatePerIP = 5 }) { server in
            let statuses = (0..<20).map { _ in upgradeStatus(server) }
            #expect(statuses.filter { $0 == 101 }.count >= 5)
            #expect(statuses.contains(429))
        }
    }

    @Test func originAllowList() throws {
        try withServer({ $0.limits.allowedOrigins = ["https://shop.example"] }) { server in
            #expect(upgradeStatus(server, origin: "https://evil.example") == 403)
            #expect(upgradeStatus(server, origin: "https://shop.example") == 101)
            #expect(upgradeStatus(server) == 101)  // not a browser
        }
    }

    @Test func productionRefusesTheDevelopmentSecret() throws {
        #expect(throws: ConfigurationLoader.Error.self) {
            try ConfigurationLoader.apply(json: Array(#"{"environment": "production"}"#.utf8), to: ServerConfiguration())
        }
        let config = try ConfigurationLoader.apply(
            json: Array(#"{"environment": "production", "auth": {"jwt_secret": "a-real-secret-of-enough-length"}}"#.utf8),
            to: ServerConfiguration())
        #expect(config.environment == "production")
    }

    @Test func abusiveClientsDoNotSlowOthersOrGrowMemory() throws {
        // A separate server process, so its memory can be measured on its own.
        let config = makeTemporaryDirectory() + "/abuse.json"
        try Array(#"{"websocket": {"handshake_timeout": 2}, "outbound": {"hard_limit": 262144}}"#.utf8)
            .withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: config)) }
        let server = ServerProcess(dataDirectory: makeTemporaryDirectory(), extraArguments: ["--config", config])
        try server.start()
        let baseline = server.residentKiB()
        let stop = Counter()
        defer { stop.increment() }  // the flooding thread ends with the test, whatever happens
        // A flooder: big frames to /echo as fast as it can, never reading the echoes. Its socket
        // belongs to its thread alone.
        let port = server.port
        let flooding = Thread {
            guard let flooder = try? BlockingWebSocketClient(port: port) else { return }
            flooder.setTimeout(0.2)
            let frame = WebSocketFrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 7, count: 60_000), maskKey: 9)
            let deadline = Date().addingTimeInterval(60)
            while stop.value == 0 && Date() < deadline { if (try? flooder.sendRaw(frame)) == nil { usleep(1000) } }
        }
        flooding.start()
        // Slowloris: many connections that dribble a request head and never finish it.
        let slow = (0..<50).compactMap { _ in try? BlockingWebSocketClient(port: server.port, timeout: 5, upgrade: false) }
        for client in slow { try? client.sendRaw(Array("GET /echo HTTP/1.1\r\nX-Slow: ".utf8)) }
        // A burst of connections from one address.
        let burst = (0..<200).compactMap { _ in try? BlockingWebSocketClient(port: server.port, timeout: 5) }
        // A probe keeps its round trips quick throughout.
        let probe = try BlockingWebSocketClient(port: server.port)
        var worst = 0.0
        var peak = 0
        for index in 0..<100 {
            let start = Date()
            try probe.send(text: "probe \(index)")
            #expect(try probe.receiveMessage().text == "probe \(index)")
            worst = max(worst, Date().timeIntervalSince(start))
            peak = max(peak, server.residentKiB())
            usleep(10_000)  // pacing: the 100 probes sample about a second of the abuse
        }
        stop.increment()
        #expect(worst < 1.0, "worst probe round trip \(worst) s")
        // Backpressure held the flooder back instead of buffering its echoes: memory stays near
        // where it started (a few MiB of connection state, not the flood).
        #expect(peak - baseline < 64 * 1024, "server RSS grew from \(baseline) KiB to \(peak) KiB")
        // Slowloris connections are dropped by the handshake timeout.
        #expect(slow.allSatisfy { $0.waitForEOF() })
        _ = burst
        #expect(server.terminate() == 0)
    }
}

@Suite("Accepting when out of file descriptors", .serialized)
struct DescriptorExhaustionTests {
    @Test func acceptBacksOffInsteadOfSpinning() throws {
        // prlimit (util-linux) is on every Debian machine; its absence must fail, not pass.
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs /usr/bin/prlimit (util-linux)")
        let data = makeTemporaryDirectory()
        let server = ServerProcess(dataDirectory: data, wrapper: ["/usr/bin/prlimit", "--nofile=48:48"])
        try server.start()
        // Far more connections than the server has descriptors for.
        let clients = (0..<80).compactMap { _ in try? BlockingWebSocketClient(port: server.port, timeout: 2, upgrade: false) }
        // Measured over a one-second window: a spinning accept loop would use all of it.
        let before = server.cpuSeconds()
        usleep(1_000_000)
        let busy = server.cpuSeconds() - before
        #expect(busy < 0.5, "the server spent \(busy) s of CPU in one second while out of descriptors")
        _ = clients
    }
}
