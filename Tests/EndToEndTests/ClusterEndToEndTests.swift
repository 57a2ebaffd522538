import Foundation
import Gateway
import Glibc
import JSON
import WebSocketClient
import XCTest

/// Cluster mode end to end: real nodes (in this process, and one in a child process that is
/// killed with -9) on a real redis-server, over real sockets.
final class ClusterEndToEndTests: XCTestCase {
    private var redis: RedisServer!

    override func setUpWithError() throws {
        guard RedisServer.binary != nil || RedisServer.required else { throw XCTSkip("redis-server is not installed") }
        self.redis = try RedisServer()
    }

    override func tearDown() { self.redis = nil }

    private func node<T>(_ name: String, _ body: (HometownServer) throws -> T) throws -> T {
        try liveServer(
            { config in
                config.cluster.redis = self.redis.url
                config.cluster.nodeID = name
                config.loops = 1
            }, body)
    }

    /// A viewer on `port` once that node admits it (a node learns of a new room from the
    /// creator's announcement), welcomed.
    private func viewer(port: UInt16, room: String, user: String) throws -> LiveClient {
        var client: LiveClient?
        XCTAssertTrue(
            eventually(within: 5) {
                client = try? LiveClient(port: port, room: room, token: token(user))
                return client != nil
            })
        return try XCTUnwrap(client)
    }

    private func http(_ server: HometownServer, _ path: String) throws -> (status: Int, body: String) {
        let response = try rawHTTP(server, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        let status = Int(response.split(separator: " ")[1]) ?? 0
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    /// The alert rules and the dashboard name only metrics the server exports (a cluster node
    /// exports them all): a renamed metric fails here, not silently in production.
    func testAlertsAndDashboardNameOnlyExportedMetrics() throws {
        // The webhook's metrics exist where webhooks do: on a single node with orders.webhook_url.
        let single = try liveServer({ config in
            config.orders.webhookURL = "http://127.0.0.1:9/hook"
            config.orders.webhookSecret = "webhook-secret-0123456789"
        }) { server in server.renderMetrics() }
        try self.node("a") { a in
            let exported = Set(
                (try self.http(a, "/metrics").body + "\n" + single).split(separator: "\n").compactMap { line -> String? in
                    guard line.hasPrefix("# TYPE ") else { return nil }
                    return line.split(separator: " ")[2].description
                })
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let alerts = try String(contentsOf: root.appendingPathComponent("Config/alerts.yml"), encoding: .utf8)
            let operations = try String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
            let dashboard = try XCTUnwrap(
                operations.components(separatedBy: "## Alerts and a dashboard").last?.components(separatedBy: "\n## ").first)
            var named: Set<String> = []
            for text in [alerts, dashboard] {
                var current = ""
                for character in text + " " {
                    if character.isLetter || character.isNumber || character == "_" {
                        current.append(character)
                        continue
                    }
                    if current.hasPrefix("hometown_") || current.hasPrefix("process_") {
                        var name = current
                        for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && !exported.contains(name) {
                            name = String(name.dropLast(suffix.count))
                        }
                        named.insert(name)
                    }
                    current = ""
                }
            }
            XCTAssertGreaterThan(named.count, 15)
            XCTAssertEqual(named.subtracting(exported), [], "named in Config/alerts.yml or the dashboard but not exported")
        }
    }

    /// Redis unreachable at startup: a clear message naming the setting, and a non-zero exit.
    func testAnUnreachableRedisAtStartupIsAClearErrorAndExit() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["--port", "0", "--redis", "redis://127.0.0.1:\(freePort())", "--data", makeTemporaryDirectory()]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(text.contains("cluster.redis") && text.contains("cannot reach Redis"), text)
    }

    /// The per-owner room cap holds across the cluster: it is counted in Redis, not per node.
    func testTheRoomCapPerOwnerHoldsAcrossNodes() throws {
        try liveServer(
            { config in
                config.cluster.redis = self.redis.url
                config.cluster.nodeID = "a"
                config.rooms.maxRoomsPerOwner = 2
            }
        ) { a in
            try liveServer(
                { config in
                    config.cluster.redis = self.redis.url
                    config.cluster.nodeID = "b"
                    config.rooms.maxRoomsPerOwner = 2
                }
            ) { b in
                let seller = token("seller", role: "streamer")
                for (server, room) in [(a, "one"), (b, "two")] {
                    _ = try LiveClient(port: server.port, room: room, token: seller).next("welcome")
                }
                let third = try LiveClient(port: a.port, room: "three", token: seller)
                XCTAssertThrowsError(try third.next("welcome"), "a third room is refused")
                let redis = try self.redis.client()
                XCTAssertEqual(try redis.command(["SISMEMBER", "ht:rooms", "three"]).integer, 0)
                XCTAssertEqual(try redis.command(["SCARD", "ht:owner:{seller}:rooms"]).integer, 2)
                // An admin is not capped.
                _ = try LiveClient(port: b.port, room: "four", token: token("root", role: "admin")).next("welcome")
            }
        }
    }

    /// A streamer on node a, a viewer on node b: the room is one room. The viewer sees the sale,
    /// its comment reaches both in one seq, its order is taken once by the owner and is in the
    /// export read from the other node.
    func testARoomRunsAcrossNodes() throws {
        try self.node("a") { a in
            try self.node("b") { b in
                let streamer = try openAppleSale(port: a.port, room: "orchard", stock: 3, limit: 2)
                XCTAssertTrue(eventually(within: 5) { (try? self.http(b, "/readyz").status) == 200 })
                let fan = try self.viewer(port: b.port, room: "orchard", user: "fan")
                let welcome = try fan.next("welcome")
                XCTAssertEqual(welcome["products"]?.arrayValue?.first?["left"]?.intValue, 3)
                XCTAssertEqual(welcome["you"]?["role"]?.stringValue, "viewer")
                XCTAssertEqual(try streamer.next("viewers")["count"]?.intValue, 1)

                try fan.send(#"{"type":"comment","text":"hello from b"}"#)
                let seen = try streamer.next("comment")
                let echoed = try fan.next("comment")
                XCTAssertEqual(seen["text"]?.stringValue, "hello from b")
                XCTAssertEqual(seen["seq"]?.intValue, echoed["seq"]?.intValue)

                // A malformed message is forwarded as it came and answered by the owner.
                try fan.send("not json")
                XCTAssertEqual(try fan.next("error")["code"]?.stringValue, "bad_json")
                try fan.send(#"{"type":"order","sku":"apple","qty":2,"ref":"r1"}"#)
                let result = try fan.next("order.result")
                XCTAssertEqual(result["status"]?.stringValue, "accepted")
                let id = try XCTUnwrap(result["order"]?.stringValue)
                XCTAssertEqual(try streamer.next("order")["order"]?.stringValue, id)
                // The same ref again (a retry through the other node's forwarder): the same order.
                try fan.send(#"{"type":"order","sku":"apple","qty":2,"ref":"r1"}"#)
                XCTAssertEqual(try fan.next("order.result")["order"]?.stringValue, id)
                try fan.send(#"{"type":"order","sku":"apple","qty":1,"ref":"r2"}"#)
                XCTAssertEqual(try fan.next("order.result")["status"]?.stringValue, "limit_reached")

                // The whole cluster's orders, from the node that did not take them.
                let export = try self.http(b, "/api/rooms/orchard/orders?token=\(token("seller", role: "streamer"))")
                XCTAssertEqual(export.status, 200)
                XCTAssertTrue(export.body.contains(id))
                XCTAssertEqual(try self.http(b, "/api/rooms/orchard/orders?token=\(token("fan"))").status, 403)

                // `hometown orders` reads the cluster's orders from Redis.
                let cli = Process()
                cli.executableURL = URL(fileURLWithPath: ServerProcess.binary)
                cli.arguments = ["orders", "--redis", self.redis.url, "--room", "orchard"]
                let output = Pipe()
                cli.standardOutput = output
                try cli.run()
                cli.waitUntilExit()
                XCTAssertEqual(cli.terminationStatus, 0)
                XCTAssertTrue(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains(id))
                // Node b's lobby lists the room node a runs.
                XCTAssertTrue(eventually(within: 5) { (try? self.http(b, "/api/rooms").body)?.contains("\"orchard\"") == true })

                let cluster = try self.http(b, "/api/cluster?token=\(token("root", role: "admin"))")
                XCTAssertEqual(cluster.status, 200)
                let status = try JSONParser.parse(cluster.body)
                let room = status["rooms"]?.arrayValue?.first { $0["room"]?.stringValue == "orchard" }
                XCTAssertEqual(room?["owner"]?.stringValue, "a")
                XCTAssertEqual(try self.http(b, "/api/cluster?token=\(token("fan"))").status, 401)
            }
        }
    }

    /// A node that is not the owner dies (-9): its viewers leave the room's count within 5 s.
    func testADeadNodesViewersLeaveTheCountWithinFiveSeconds() throws {
        try self.node("a") { a in
            let streamer = try openAppleSale(port: a.port, room: "stall", stock: 5, limit: 1)
            let other = ServerProcess(
                dataDirectory: makeTemporaryDirectory(), extraArguments: ["--redis", self.redis.url, "--node-id", "b"])
            try other.start()
            let far = try self.viewer(port: other.port, room: "stall", user: "far")  // kept open until the node dies
            _ = try far.next("welcome")
            XCTAssertEqual(try streamer.next("viewers")["count"]?.intValue, 1)
            let killedAt = Date()
            other.crash()
            streamer.socket.setTimeout(8)
            XCTAssertEqual(try streamer.next("viewers")["count"]?.intValue, 0)
            XCTAssertLessThanOrEqual(Date().timeIntervalSince(killedAt), 5.0)
        }
    }

    /// Redis goes away: no order is acknowledged that was not recorded (`unavailable`), the node
    /// says it is not ready, and it comes back by itself when Redis does.
    func testWhileRedisIsDownNothingIsAcceptedAndTheNodeRecovers() throws {
        try self.node("a") { a in
            _ = try openAppleSale(port: a.port, room: "market", stock: 5, limit: 5)
            let buyer = try LiveClient(port: a.port, room: "market", token: token("buyer"))
            _ = try buyer.next("welcome")
            self.redis.kill()
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"during"}"#)
            // Either refused at once, or the room is given up (its members reconnect): never
            // accepted. Bounded by one deadline (generous: the suite also runs under TSan).
            buyer.socket.setTimeout(20)
            // A read that times out is neither: it fails the test.
            var outcome = ""
            do {
                while outcome.isEmpty {
                    let message = try buyer.next()
                    if message["type"]?.stringValue == "order.result" { outcome = message["status"]?.stringValue ?? "?" }
                }
            } catch BlockingWebSocketClient.Error.closed {
                outcome = "connection closed"
            }
            XCTAssertTrue(["unavailable", "connection closed"].contains(outcome), outcome)
            XCTAssertTrue(eventually(within: 15) { (try? self.http(a, "/readyz").status) == 503 })
            try self.redis.start()
            XCTAssertTrue(eventually(within: 20) { (try? self.http(a, "/readyz").status) == 200 })
            // The room is back (rebuilt from Redis) and the same ref now buys.
            var again: LiveClient?
            XCTAssertTrue(
                eventually(within: 20) {
                    guard let client = try? LiveClient(port: a.port, room: "market", token: token("buyer")),
                        (try? client.next("welcome")) != nil
                    else { return false }
                    again = client
                    return true
                })
            let client = try XCTUnwrap(again)
            try client.send(#"{"type":"order","sku":"apple","qty":1,"ref":"during"}"#)
            XCTAssertEqual(try client.next("order.result")["status"]?.stringValue, "accepted")
        }
    }
}
