import Foundation
import Gateway
import Glibc
import JSON
import Transport
import WebSocketClient
import Webhooks
import XCTest

private let shopToken = "cluster-shop-token-0123"
private let webhookSecret = "cluster-webhook-secret-0123"

/// Orders after the room in cluster mode (docs/ORDERS.md): payment windows, the shop's calls
/// made to any node, and the webhook delivered by the room's owner from Redis — also after the
/// owner died.
final class ClusterOrdersEndToEndTests: XCTestCase {
    private var redis: RedisServer!

    override func setUpWithError() throws {
        guard RedisServer.binary != nil || RedisServer.required else { throw XCTSkip("redis-server is not installed") }
        self.redis = try RedisServer()
    }

    override func tearDown() { self.redis = nil }

    private func node<T>(_ name: String, receiver: WebhookReceiver, _ body: (HometownServer) throws -> T) throws -> T {
        try liveServer(
            { config in
                config.cluster.redis = self.redis.url
                config.cluster.nodeID = name
                config.loops = 1
                config.orders.shopToken = shopToken
                config.orders.webhookURL = "http://127.0.0.1:\(receiver.port)/hook"
                config.orders.webhookSecret = webhookSecret
                config.orders.webhookRetryBase = 0.05
                config.orders.webhookRetryMax = 0.3
                config.limits.messagesPerSecond = 0
            }, body)
    }

    private func viewer(port: UInt16, room: String, user: String) throws -> LiveClient {
        var client: LiveClient?
        XCTAssertTrue(
            eventually(within: 5) {
                client = try? LiveClient(port: port, room: room, token: token(user))
                return client != nil
            })
        return try XCTUnwrap(client)
    }

    private func buy(_ client: LiveClient, ref: String) throws -> JSONValue {
        try client.send(#"{"type":"order","sku":"apple","qty":1,"ref":"\#(ref)"}"#)
        return try client.next("order.result", where: { $0["ref"]?.stringValue == ref })
    }

    func testPaymentExpiryAndTheShopAcrossNodesWithTheOwnerDeliveringTheWebhook() throws {
        let receiver = WebhookReceiver(secret: webhookSecret)
        try receiver.start()
        defer { receiver.stop() }
        try self.node("a", receiver: receiver) { a in
            try self.node("b", receiver: receiver) { b in
                let streamer = try LiveClient(port: a.port, room: "grove", token: token("seller", role: "streamer"))
                _ = try streamer.next("welcome")
                try streamer.send(#"{"type":"room.open"}"#)
                try streamer.send(#"{"type":"product.add","sku":"apple","title":"Apples","price":500,"stock":2}"#)
                try streamer.send(#"{"type":"sale.start","sku":"apple","limit":2,"payment_window":2}"#)
                XCTAssertEqual(try streamer.next("sale")["payment_window"]?.intValue, 2)
                let payer = try self.viewer(port: b.port, room: "grove", user: "payer")
                _ = try payer.next("welcome")
                let late = try self.viewer(port: b.port, room: "grove", user: "late")
                _ = try late.next("welcome")
                let paid = try self.buy(payer, ref: "p1")
                let paidID = try XCTUnwrap(paid["order"]?.stringValue)
                XCTAssertNotNil(paid["pay_by"]?.intValue)
                let lateID = try XCTUnwrap(try self.buy(late, ref: "l1")["order"]?.stringValue)
                _ = try streamer.next("sale", where: { $0["state"]?.stringValue == "sold_out" })

                // The shop calls the node that does not run the room: forwarded to the owner.
                let first = try shopCall(port: b.port, "/api/orders/\(paidID)/paid", token: shopToken)
                XCTAssertEqual(first.status, 200)
                XCTAssertEqual(first.body?["order"]?["state"]?.stringValue, "paid")
                XCTAssertEqual(try shopCall(port: b.port, "/api/orders/\(paidID)/paid", token: shopToken).status, 200)
                XCTAssertEqual(try shopCall(port: b.port, "/api/orders/grove-nope-1/paid", token: shopToken).status, 404)
                XCTAssertEqual(try payer.next("order.update")["state"]?.stringValue, "paid")

                // The other order expires on the owner's clock; its unit comes back for everyone.
                late.socket.setTimeout(8)
                let expired = try late.next("order.update")
                XCTAssertEqual(expired["reason"]?.stringValue, "expired")
                _ = try streamer.next("sale", where: { $0["state"]?.stringValue == "live" })
                let refused = try shopCall(port: b.port, "/api/orders/\(lateID)/paid", token: shopToken)
                XCTAssertEqual(refused.status, 409)
                XCTAssertEqual(refused.body?["order"]?["reason"]?.stringValue, "expired")

                let expected: Set<String> = ["\(paidID).accepted", "\(paidID).paid", "\(lateID).accepted", "\(lateID).cancelled"]
                XCTAssertTrue(eventually(within: 10) { expected.isSubset(of: Set(receiver.deliveries.map(\.event))) })
                let check = WebhookDeliveryCheck(deliveries: receiver.deliveries, expected: expected)
                XCTAssertTrue(check.passed, "\(check)")
                // Exactly once here: only the owner delivers.
                XCTAssertEqual(check.duplicates, 0)
                // The export, from either node, has the states.
                let export = try rawHTTP(
                    b, "GET /api/rooms/grove/orders?token=\(token("seller", role: "streamer")) HTTP/1.1\r\nHost: x\r\n\r\n")
                XCTAssertTrue(export.contains(#""state":"paid""#) && export.contains(#""reason":"expired""#), export)
            }
        }
    }

    /// The owner dies (-9) with events waiting (the shop was refusing them) and nobody watching:
    /// another node takes the room and delivers every event.
    func testTheOwnersDeathLosesNoWebhookEvent() throws {
        let healthy = LockedValue(false)
        let receiver = WebhookReceiver(secret: webhookSecret) { _ in healthy.current ? 200 : 503 }
        try receiver.start()
        defer { receiver.stop() }
        let configPath = makeTemporaryDirectory() + "/cluster-orders.json"
        let config = """
            {"limits": {"messages_per_second": 0}, "cluster": {"lease": 2},
             "orders": {"shop_token": "\(shopToken)", "webhook_url": "http://127.0.0.1:\(receiver.port)/hook",
                        "webhook_secret": "\(webhookSecret)", "webhook_retry_base": 0.05, "webhook_retry_max": 0.2}}
            """
        FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8))
        let owner = ServerProcess(
            dataDirectory: makeTemporaryDirectory(), extraArguments: ["--redis", self.redis.url, "--node-id", "p", "--config", configPath])
        try owner.start()
        try openAppleSale(port: owner.port, room: "hill", stock: 10, limit: 10, paymentWindow: 600)
        let buyer = try LiveClient(port: owner.port, room: "hill", token: token("buyer"))
        _ = try buyer.next("welcome")
        var ids: [String] = []
        for index in 0..<3 { ids.append(try XCTUnwrap(try self.buy(buyer, ref: "r\(index)")["order"]?.stringValue)) }
        XCTAssertEqual(try shopCall(port: owner.port, "/api/orders/\(ids[0])/paid", token: shopToken).status, 200)
        XCTAssertTrue(eventually(within: 5) { receiver.deliveries.count >= 2 }, "the owner was delivering (and refused)")
        owner.crash()
        healthy.withLock { $0 = true }
        try self.node("a", receiver: receiver) { _ in
            // Nobody reconnects: node a finds the room needing an owner, takes it, and delivers.
            let expected = Set(ids.map { "\($0).accepted" } + ["\(ids[0]).paid"])
            XCTAssertTrue(
                eventually(within: 20) { expected.isSubset(of: Set(receiver.deliveries.filter { $0.status == 200 }.map(\.event))) },
                "delivered: \(receiver.deliveries.filter { $0.status == 200 }.map(\.event))")
            let check = WebhookDeliveryCheck(deliveries: receiver.deliveries, expected: expected)
            XCTAssertTrue(check.passed, "\(check)")
        }
    }
}
