import BuildInfo
import Foundation
import Gateway
import JSON
import TestSupport
import Testing
import Transport
import WebSocket
import WebSocketClient

/// Parses Prometheus text into [series: value] ("name{labels}" -> value).
func parseMetrics(_ text: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}

@Suite("Operations: metrics, readiness, graceful drain", .serialized)
struct OperationsEndToEndTests {
    func get(_ server: HometownServer, _ path: String) throws -> (status: Int, body: String) {
        let answer = try rawHTTP(server, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        let status = Int(answer.split(separator: " ")[1]) ?? 0
        return (status, answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? "")
    }

    @Test func metricsReportWhatHappened() throws {
        try liveServer { server in
            let streamer = try LiveClient(server, room: "m", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
            try streamer.send(#"{"type":"room.open"}"#)
            try streamer.send(#"{"type":"product.add","sku":"apple","title":"A","price":5,"stock":1}"#)
            try streamer.send(#"{"type":"sale.start","sku":"apple","limit":1}"#)
            _ = try streamer.next("sale")
            let viewer = try LiveClient(server, room: "m", token: token("v"))
            _ = try viewer.next("welcome")
            try viewer.send(#"{"type":"comment","text":"hi"}"#)
            _ = try viewer.next("comment")
            try viewer.send(#"{"type":"comment","text":""}"#)
            _ = try viewer.next("error")
            try viewer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"a"}"#)
            _ = try viewer.next("order.result")
            try viewer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"b"}"#)
            _ = try viewer.next("order.result")
            do {
                let protocolBreaker = try BlockingWebSocketClient(port: server.port)
                try protocolBreaker.sendRaw([0x81, 0x01, 0x41])  // unmasked
                _ = try protocolBreaker.receiveClose()
            }  // our socket closes here, so the server's lingering close completes at once
            #expect(eventually { (try? get(server, "/metrics").body.contains("1002 protocol error")) == true })
            // Per-room gauges are published by the room's tick.
            #expect(eventually { (try? get(server, "/metrics").body.contains("hometown_room_orders_total{room=\"m\"} 1")) == true })

            let response = try get(server, "/metrics")
            #expect(response.status == 200)
            let metrics = parseMetrics(response.body)
            #expect(metrics["hometown_connections_open"] ?? 0 >= 2)
            #expect(metrics["hometown_connections_opened_total"] ?? 0 >= 3)
            #expect(metrics["hometown_connections_closed_total{reason=\"1002 protocol error\"}"] == 1)
            #expect(metrics["hometown_rooms"] == 1)
            #expect(metrics["hometown_comments_accepted_total{shown=\"true\"}"] == 1)
            #expect(metrics["hometown_comments_refused_total{reason=\"bad_request\"}"] == 1)
            #expect(metrics["hometown_orders_accepted_total"] == 1)
            #expect(metrics["hometown_orders_refused_total{status=\"limit_reached\"}"] == 1)
            #expect(metrics["hometown_messages_in_total"] ?? 0 >= 7)
            #expect(metrics["hometown_bytes_in_total"] ?? 0 > 0)
            #expect(metrics["hometown_journal_commit_seconds_count"] ?? 0 >= 1)
            #expect(metrics["hometown_fanout_latency_seconds_count"] ?? 0 >= 1)
            #expect(metrics["hometown_event_loop_lag_seconds_count"] != nil)
            #expect(metrics["hometown_room_orders_total{room=\"m\"}"] == 1)
            #expect(metrics["hometown_build_info{version=\"\(BuildInfo.version)\"}"] == 1)
            // The process, under the standard names.
            #expect(metrics["process_resident_memory_bytes"] ?? 0 > 1_000_000)
            #expect(metrics["process_open_fds"] ?? 0 >= 2)
            #expect(metrics["process_max_fds"] ?? 0 >= metrics["process_open_fds"] ?? 0)
            #expect(metrics["process_cpu_seconds_total"] ?? 0 > 0)
            #expect(metrics["process_start_time_seconds"] ?? 0 > 1_700_000_000)
            // Every sample line is well formed: a metric name, optional {labels}, a number.
            for line in response.body.split(separator: "\n") where !line.hasPrefix("#") {
                let space = line.lastIndex(of: " ")!
                let series = line[..<space]
                #expect(Double(line[line.index(after: space)...]) != nil, "\(line)")
                #expect(series.hasPrefix("hometown_") || series.hasPrefix("process_"), "\(line)")
                #expect(!series.contains("{") || series.hasSuffix("}"), "\(line)")
            }
        }
    }

    @Test func readinessFollowsTheStore() throws {
        try liveServerWithFaultyStore { server, faulty in
            let ready = try get(server, "/readyz").status
            let healthy = try get(server, "/healthz").status
            #expect(ready == 200 && healthy == 200)
            let streamer = try LiveClient(server, room: "r", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
            faulty.failing = true
            try streamer.send(#"{"type":"room.open"}"#)  // a state change the store cannot take
            #expect(eventually { (try? get(server, "/readyz").status) == 503 })
            #expect(try get(server, "/healthz").status == 200, "alive, just not ready")
            faulty.failing = false
            try streamer.send(#"{"type":"room.close"}"#)
            #expect(eventually { (try? get(server, "/readyz").status) == 200 })
        }
    }

    @Test func sigtermDuringAFlashSaleLosesNoAcknowledgedOrder() throws {
        let data = makeTemporaryDirectory()
        let server = ServerProcess(dataDirectory: data, extraArguments: unlimitedMessagesArguments())
        try server.start()
        try openAppleSale(port: server.port, room: "drain", stock: 100_000, limit: 10_000)
        let buyers = (0..<30).map { RecordingBuyer(user: "buyer\($0)") }
        let accepted = CountdownLatch(300)
        let done = DispatchSemaphore(value: 0)
        let runner = Thread {
            DispatchQueue.concurrentPerform(iterations: buyers.count) { index in
                buyers[index].shop(port: server.port, room: "drain") { accepted.countDown() }
            }
            done.signal()
        }
        runner.start()
        #expect(accepted.wait(seconds: 30), "the sale was under way before SIGTERM")
        #expect(server.terminate() == 0, "a drain exits 0")
        #expect(done.wait(timeout: .now() + 20) == .success)
        let stored = Set(try OrderExport.page(dataDirectory: data, room: "drain", after: nil, limit: 1_000_000).map(\.id))
        var acknowledged = 0
        for buyer in buyers {
            for (_, id) in buyer.accepted {
                acknowledged += 1
                #expect(stored.contains(id), "acknowledged order \(id) was stored before exit")
            }
        }
        #expect(acknowledged >= 300)
    }

    /// SIGTERM with a drain grace: readiness goes 503 at once while the listener still answers
    /// (health 200, new requests served), so a load balancer sees it before anyone is refused.
    @Test func drainGraceKeepsServingWithReadinessDown() throws {
        let config = makeTemporaryDirectory() + "/grace.json"
        FileManager.default.createFile(atPath: config, contents: Data(#"{"drain_grace": 3}"#.utf8))
        let server = ServerProcess(dataDirectory: makeTemporaryDirectory(), extraArguments: ["--config", config])
        try server.start()
        func status(_ path: String) -> Int {
            guard let client = try? BlockingWebSocketClient(port: server.port, timeout: 2, upgrade: false),
                (try? client.sendRaw(Array("GET \(path) HTTP/1.1\r\n\r\n".utf8))) != nil,
                let answer = try? client.readHTTPResponse()
            else { return 0 }
            return Int(answer.split(separator: " ")[1]) ?? 0
        }
        #expect(status("/readyz") == 200)
        server.send(SIGTERM)
        #expect(eventually(within: 2) { status("/readyz") == 503 }, "readiness goes down first")
        #expect(status("/healthz") == 200, "while the listener still answers")
        #expect(server.waitForExit(seconds: 20) == 0, "then the drain ends, exit 0")
    }

    /// SIGHUP re-reads the configuration (the log level) and keeps serving; it is not a stop.
    @Test func sighupReloadsAndKeepsServing() throws {
        let server = ServerProcess(dataDirectory: makeTemporaryDirectory())
        try server.start()
        server.send(SIGHUP)
        server.send(SIGHUP)
        #expect(
            eventually(within: 2) {
                guard let client = try? BlockingWebSocketClient(port: server.port, timeout: 1, upgrade: false) else { return false }
                try? client.sendRaw(Array("GET /healthz HTTP/1.1\r\n\r\n".utf8))
                return (try? client.readHTTPResponse())?.hasPrefix("HTTP/1.1 200") == true
            })
        #expect(server.terminate() == 0, "still a drain on SIGTERM, exit 0")
    }

    /// One process per data directory: a second server on it is refused, naming the holder.
    @Test func aSecondServerOnTheSameDataDirectoryIsRefused() throws {
        let data = makeTemporaryDirectory()
        try liveServer({ $0.dataDirectory = data }) { _ in
            var second = ServerConfiguration()
            second.port = 0
            second.dataDirectory = data
            second.rooms.demo = false
            do {
                _ = try HometownServer(config: second)
                Issue.record("a second server opened the same data directory")
            } catch {
                #expect("\(error)".contains("in use by process \(getpid())"), "\(error)")
            }
        }
        // The first one stopped: the directory is free again.
        let again = try HometownServer(
            config: {
                var config = ServerConfiguration()
                config.port = 0
                config.dataDirectory = data
                config.rooms.demo = false
                return config
            }())
        again.stop()
    }

    /// With `admin.port`, the operator's endpoints move off the public port: metrics and the
    /// cluster view only on the admin port (plain HTTP, no upgrades), probes on both.
    @Test func theAdminPortKeepsMetricsOffThePublicPort() throws {
        let adminPort = freePort()
        try liveServer({ $0.admin.port = adminPort }) { server in
            #expect(server.adminPort == adminPort)
            func status(_ port: UInt16, _ request: String) throws -> Int {
                let client = try BlockingWebSocketClient(port: port, timeout: 5, upgrade: false)
                try client.sendRaw(Array(request.utf8))
                return Int(try client.readHTTPResponse().split(separator: " ")[1]) ?? 0
            }
            let upgrade =
                "GET /live/x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            #expect(try status(server.port, "GET /metrics HTTP/1.1\r\n\r\n") == 404)
            #expect(try status(server.port, "GET /api/cluster HTTP/1.1\r\n\r\n") == 404)
            #expect(try status(server.port, "GET /healthz HTTP/1.1\r\n\r\n") == 200)
            #expect(try status(server.port, "GET / HTTP/1.1\r\n\r\n") == 200)
            #expect(try status(adminPort, "GET /metrics HTTP/1.1\r\n\r\n") == 200)
            #expect(try status(adminPort, "GET /healthz HTTP/1.1\r\n\r\n") == 200)
            #expect(try status(adminPort, "GET /readyz HTTP/1.1\r\n\r\n") == 200)
            #expect(try status(adminPort, "GET / HTTP/1.1\r\n\r\n") == 404, "no pages on the admin port")
            #expect(try status(adminPort, upgrade) == 404, "no WebSockets on the admin port")
            // A streamer still opens rooms on the public port.
            let streamer = try LiveClient(server, room: "pub", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
        }
    }

    /// An operator lists rooms and closes one left by a load test: members are sent away (4010),
    /// the room leaves the lobby and the metrics, and its orders stay in the store.
    @Test func anOperatorClosesAndArchivesARoom() throws {
        let data = makeTemporaryDirectory()
        try liveServer({ $0.dataDirectory = data }) { server in
            _ = try openAppleSale(port: server.port, room: "bazaar", stock: 5, limit: 5)
            let buyer = try LiveClient(server, room: "bazaar", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"keep"}"#)
            let id = try #require(try buyer.next("order.result")["order"]?.stringValue)
            let admin = token("root", role: "admin")
            #expect(try get(server, "/api/admin/rooms").status == 401)
            #expect(try get(server, "/api/admin/rooms?token=\(token("s", role: "streamer"))").status == 401)
            let list = try get(server, "/api/admin/rooms?token=\(admin)")
            #expect(list.status == 200 && list.body.contains("\"room\":\"bazaar\""))
            #expect(
                eventually(within: 3) { (try? get(server, "/metrics").body.contains("room=\"bazaar\"")) == true },
                "the room is in the metrics before")

            let close = try rawHTTP(server, "POST /api/admin/rooms/bazaar/close?token=\(admin) HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            #expect(close.hasPrefix("HTTP/1.1 200"), "\(close)")
            #expect(try buyer.socket.receiveClose() == WebSocketCloseCode(rawValue: 4010))
            #expect(eventually(within: 5) { server.roomCount == 0 }, "out of memory once empty")
            #expect(try get(server, "/api/rooms").body.contains("bazaar") == false)
            #expect(try get(server, "/metrics").body.contains("room=\"bazaar\"") == false)
            // Its orders are still exportable.
            #expect(try get(server, "/api/rooms/bazaar/orders?token=\(admin)").body.contains(id))
            #expect(
                try rawHTTP(server, "POST /api/admin/rooms/nosuch/close?token=\(admin) HTTP/1.1\r\nContent-Length: 0\r\n\r\n").hasPrefix(
                    "HTTP/1.1 404"))
        }
        // `hometown rooms` lists it from the store: closed, with its order.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["rooms", "--data", data]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("bazaar\tseller\tno\t1\t") }, "\(text)")
    }

    @Test func drainClosesClientsWith1001() throws {
        try liveServer { server in
            let viewer = try LiveClient(server, room: "x", token: token("s", role: "streamer"))
            _ = try viewer.next("welcome")
            Thread.detachNewThread { server.drain(timeout: 5) }
            #expect(try viewer.socket.receiveClose() == .goingAway)
            #expect(viewer.socket.waitForEOF())
        }
    }
}
