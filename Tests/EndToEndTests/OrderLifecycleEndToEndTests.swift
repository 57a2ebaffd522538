import Foundation
import Gateway
import JSON
import OrderJournal
import TestSupport
import Testing
import Transport
import WebSocketClient
import Webhooks

private let shopToken = "shop-token-0123456789"
private let webhookSecret = "webhook-secret-0123456789"

/// POSTs to the shop API with `token` (none: no Authorization header); status and body.
func shopCall(port: UInt16, _ path: String, token: String?) throws -> (status: Int, body: JSONValue?) {
    let client = try BlockingWebSocketClient(port: port, timeout: 5, upgrade: false)
    let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
    try client.sendRaw(Array("POST \(path) HTTP/1.1\r\nHost: x\r\n\(auth)Content-Length: 0\r\n\r\n".utf8))
    let answer = try client.readHTTPResponse()
    let status = Int(answer.split(separator: " ")[1]) ?? 0
    let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
    return (status, try? JSONParser.parse(Array(body.utf8)))
}

@Suite("Orders leave the room: payment window, shop API, signed webhook", .serialized)
struct OrderLifecycleEndToEndTests {
    func configure(_ config: inout ServerConfiguration, receiver: WebhookReceiver) {
        config.orders.shopToken = shopToken
        config.orders.webhookURL = "http://127.0.0.1:\(receiver.port)/hooks/orders"
        config.orders.webhookSecret = webhookSecret
        config.orders.webhookRetryBase = 0.05
        config.orders.webhookRetryMax = 0.2
        config.rooms.room.checkoutURL = "https://shop.example/pay/{order}"
        config.limits.messagesPerSecond = 0
    }

    @Test func unpaidOrdersExpireTheShopPaysAndEveryEventReachesTheWebhookSigned() throws {
        let receiver = WebhookReceiver(secret: webhookSecret)
        try receiver.start()
        defer { receiver.stop() }
        try liveServer({ self.configure(&$0, receiver: receiver) }) { server in
            let streamer = try LiveClient(server, room: "farm", token: token("seller", role: "streamer"))
            _ = try streamer.next("welcome")
            try streamer.send(#"{"type":"room.open"}"#)
            try streamer.send(#"{"type":"product.add","sku":"apple","title":"Apples","price":500,"stock":3}"#)
            try streamer.send(#"{"type":"sale.start","sku":"apple","limit":3,"payment_window":2}"#)
            let sale = try streamer.next("sale")
            #expect(sale["payment_window"]?.intValue == 2)

            let payer = try LiveClient(server, room: "farm", token: token("payer"))
            _ = try payer.next("welcome")
            try payer.send(#"{"type":"order","sku":"apple","qty":2,"ref":"p1"}"#)
            let paid = try payer.next("order.result")
            let paidID = try #require(paid["order"]?.stringValue)
            #expect(paid["status"]?.stringValue == "accepted" && paid["state"]?.stringValue == "accepted")
            #expect((paid["pay_by"]?.intValue ?? 0) > WallClock.nowMillis())
            #expect(paid["checkout"]?.stringValue == "https://shop.example/pay/\(paidID)")

            let late = try LiveClient(server, room: "farm", token: token("late"))
            _ = try late.next("welcome")
            try late.send(#"{"type":"order","sku":"apple","qty":1,"ref":"l1"}"#)
            let lateID = try #require(try late.next("order.result")["order"]?.stringValue)
            _ = try streamer.next("sale", where: { $0["state"]?.stringValue == "sold_out" })

            // The shop: its token, idempotent, then an impossible change refused with the state.
            #expect(try shopCall(port: server.port, "/api/orders/\(paidID)/paid", token: nil).status == 401)
            #expect(try shopCall(port: server.port, "/api/orders/\(paidID)/paid", token: "wrong-token-0123456789").status == 401)
            let first = try shopCall(port: server.port, "/api/orders/\(paidID)/paid", token: shopToken)
            #expect(first.status == 200 && first.body?["order"]?["state"]?.stringValue == "paid")
            #expect(try shopCall(port: server.port, "/api/orders/\(paidID)/paid", token: shopToken).status == 200)
            #expect(try shopCall(port: server.port, "/api/orders/\(paidID)/cancel", token: shopToken).status == 409)
            #expect(try shopCall(port: server.port, "/api/orders/farm-nope-1/paid", token: shopToken).status == 404)
            let update = try payer.next("order.update")
            #expect(update["state"]?.stringValue == "paid")

            // The late buyer never pays: the room's clock cancels the order, the unit comes back
            // and the sale is live again for everyone.
            let expired = try late.next("order.update")
            #expect(expired["order"]?.stringValue == lateID && expired["reason"]?.stringValue == "expired")
            _ = try streamer.next("sale", where: { $0["state"]?.stringValue == "live" })
            let refused = try shopCall(port: server.port, "/api/orders/\(lateID)/paid", token: shopToken)
            #expect(refused.status == 409 && refused.body?["order"]?["reason"]?.stringValue == "expired")
            // Sold again to the next buyer.
            try late.send(#"{"type":"order","sku":"apple","qty":1,"ref":"l2"}"#)
            #expect(try late.next("order.result", where: { $0["ref"]?.stringValue == "l2" })["status"]?.stringValue == "accepted")

            let expected: Set<String> = [
                "\(paidID).accepted", "\(paidID).paid", "\(lateID).accepted", "\(lateID).cancelled",
            ]
            #expect(eventually(within: 10) { expected.isSubset(of: Set(receiver.deliveries.map(\.event))) })
            let check = WebhookDeliveryCheck(deliveries: receiver.deliveries, expected: expected)
            #expect(check.passed, "\(check)")
            #expect(receiver.deliveries.allSatisfy { $0.room == "farm" && $0.signatureValid })

            // The export says each order's state and times.
            let export = try rawHTTP(
                server, "GET /api/rooms/farm/orders?token=\(token("seller", role: "streamer")) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(export.contains(#""state":"paid""#) && export.contains(#""reason":"expired""#))
        }
    }

    @Test func aBuyerCancelsTheirOwnUnpaidOrderAndTheUnitGoesBack() throws {
        let receiver = WebhookReceiver(secret: webhookSecret)
        try receiver.start()
        defer { receiver.stop() }
        try liveServer({ self.configure(&$0, receiver: receiver) }) { server in
            try openAppleSale(port: server.port, room: "farm", stock: 1, limit: 1, paymentWindow: 600)
            let buyer = try LiveClient(server, room: "farm", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"b1"}"#)
            let id = try #require(try buyer.next("order.result")["order"]?.stringValue)
            let other = try LiveClient(server, room: "farm", token: token("other"))
            _ = try other.next("welcome")
            try other.send(#"{"type":"order.cancel","order":"\#(id)","ref":"x"}"#)
            #expect(try other.next("error")["code"]?.stringValue == "not_found")
            try buyer.send(#"{"type":"order.cancel","order":"\#(id)","ref":"c1"}"#)
            let cancelled = try buyer.next("order.update")
            #expect(cancelled["state"]?.stringValue == "cancelled" && cancelled["reason"]?.stringValue == "buyer")
            try other.send(#"{"type":"order","sku":"apple","qty":1,"ref":"o1"}"#)
            #expect(try other.next("order.result")["status"]?.stringValue == "accepted")
            // The shop's cancel after the buyer's is the same outcome (200, reason buyer).
            let shop = try shopCall(port: server.port, "/api/orders/\(id)/cancel", token: shopToken)
            #expect(shop.status == 200 && shop.body?["order"]?["reason"]?.stringValue == "buyer")
        }
    }

    @Test func eventsOutOfAttemptsAreParkedListedAndReplayed() throws {
        let healthy = LockedValue(false)
        let receiver = WebhookReceiver(secret: webhookSecret) { _ in healthy.current ? 200 : 503 }
        try receiver.start()
        defer { receiver.stop() }
        try liveServer({
            self.configure(&$0, receiver: receiver)
            $0.orders.webhookMaxAttempts = 2
        }) { server in
            try openAppleSale(port: server.port, room: "park", stock: 5, limit: 5)
            let buyer = try LiveClient(server, room: "park", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"r1"}"#)
            let id = try #require(try buyer.next("order.result")["order"]?.stringValue)
            let admin = token("ops", role: "admin")
            func get(_ path: String) throws -> String { try rawHTTP(server, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n") }
            #expect(eventually(within: 10) { server.renderMetrics().contains("hometown_webhook_parked 1") })
            #expect(try get("/api/admin/webhooks/parked?token=\(token("buyer"))").hasPrefix("HTTP/1.1 401"))
            let parked = try get("/api/admin/webhooks/parked?token=\(admin)")
            #expect(parked.contains(#""id":"\#(id).accepted""#) && parked.contains(#""attempts":2"#) && parked.contains("HTTP 503"))
            #expect(server.renderMetrics().contains(#"hometown_webhook_deliveries_total{result="parked"} 1"#))
            healthy.withLock { $0 = true }
            let replay = try rawHTTP(server, "POST /api/admin/webhooks/replay?token=\(admin) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(replay.contains(#"{"replayed":1}"#))
            #expect(eventually(within: 10) { receiver.deliveries.contains { $0.event == "\(id).accepted" && $0.status == 200 } })
            #expect(eventually(within: 5) { server.renderMetrics().contains("hometown_webhook_parked 0") })
            #expect(try get("/api/admin/webhooks/parked?token=\(admin)").hasSuffix("[]"))
        }
    }

    /// The shop's endpoint refuses its first deliveries, then is down for a while, and the server is
    /// killed -9 while events wait: after a restart every event arrives, in order, signed.
    @Test func everyEventArrivesThroughFailuresAnOutageAndKill9() throws {
        let refusals = LockedValue(0)
        let receiver = WebhookReceiver(secret: webhookSecret) { _ in
            refusals.withLock { count in
                count += 1
                return count <= 3 ? 500 : 200
            }
        }
        try receiver.start()
        let receiverPort = receiver.port
        let data = makeTemporaryDirectory()
        let configPath = data + "-config.json"
        let config = """
            {"limits": {"messages_per_second": 0},
             "orders": {"shop_token": "\(shopToken)", "webhook_url": "http://127.0.0.1:\(receiverPort)/hook",
                        "webhook_secret": "\(webhookSecret)", "webhook_retry_base": 0.05, "webhook_retry_max": 0.3}}
            """
        FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8))
        let server = ServerProcess(dataDirectory: data, extraArguments: ["--config", configPath])
        try server.start()
        try openAppleSale(port: server.port, room: "hook", stock: 100, limit: 100, paymentWindow: 600)
        let buyer = try LiveClient(port: server.port, room: "hook", token: token("buyer"))
        _ = try buyer.next("welcome")
        var ids: [String] = []
        func buy(_ ref: String) throws {
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"\#(ref)"}"#)
            ids.append(try #require(try buyer.next("order.result", where: { $0["ref"]?.stringValue == ref })["order"]?.stringValue))
        }
        for index in 0..<5 { try buy("a\(index)") }
        #expect(try shopCall(port: server.port, "/api/orders/\(ids[0])/paid", token: shopToken).status == 200)
        // The first deliveries fail (500) and are retried; then the shop goes down.
        #expect(eventually(within: 10) { refusals.current > 3 })
        receiver.stop()
        for index in 5..<10 { try buy("b\(index)") }
        #expect(try shopCall(port: server.port, "/api/orders/\(ids[6])/cancel", token: shopToken).status == 200)
        server.crash()
        // Back up: the shop first, then the server on the same data directory.
        try receiver.start(port: receiverPort)
        defer { receiver.stop() }
        try server.start()
        defer { _ = server.terminate() }
        let expected = Set(ids.map { "\($0).accepted" } + ["\(ids[0]).paid", "\(ids[6]).cancelled"])
        #expect(eventually(within: 20) { expected.isSubset(of: Set(receiver.deliveries.filter { $0.status == 200 }.map(\.event))) })
        let check = WebhookDeliveryCheck(deliveries: receiver.deliveries, expected: expected)
        #expect(check.passed, "\(check)")
        #expect(check.badSignatures == 0)
        print(
            "webhook through failures and kill -9: \(check.delivered) delivered, \(check.duplicates) duplicates, \(refusals.current) requests"
        )
    }
}
