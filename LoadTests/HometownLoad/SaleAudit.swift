import Auth
import Glibc
import JSON
import Transport
import WebSocketClient
import Webhooks

/// The end-of-run audit against what the server holds, from its order export and a fresh welcome:
/// `stock_conserved` (every unit is paid, reserved within its window, or back on sale — every
/// expired unit came back) and `webhook_delivered` (every order event reached the shop's
/// endpoint, in order per room, signed). Waits for the last payment deadline first, so the
/// expiries have happened.
enum SaleAudit {
    struct StoredOrder {
        var id: String
        var sku: String
        var state: String
        var qty: Int
        var payBy: Int64?
    }

    static func run(scenario: Scenario, runID: String, receiver: WebhookReceiver?) -> [Report.Check] {
        let targets = scenario.urls.compactMap(LoadEngine.parse)
        let expiry = Int64(time(nil)) + 3600
        var rooms: [(name: String, orders: [StoredOrder], products: [String: (stock: Int, left: Int)])] = []
        var problems: [String] = []
        for room in 0..<scenario.roomCount {
            let name = "\(scenario.roomPrefix)-\(runID)-\(room)"
            let token = JWT.sign(
                JWT.Claims(sub: "load-streamer-\(room)", name: "load-streamer-\(room)", role: "streamer", room: name, exp: expiry),
                secret: scenario.secret)
            var found: (orders: [StoredOrder], products: [String: (stock: Int, left: Int)])?
            for target in targets where found == nil {
                guard var orders = Self.export(host: target.host, port: target.port, room: name, token: token) else { continue }
                // Unpaid orders still in their window: wait for the last deadline (and the room's
                // next tick), then read again.
                let deadline = orders.filter { $0.state == "accepted" }.compactMap(\.payBy).max() ?? 0
                let now = WallClock.nowMillis()
                if deadline > now {
                    usleep(useconds_t(min(180_000, deadline - now + 1500) * 1000))
                    orders = Self.export(host: target.host, port: target.port, room: name, token: token) ?? orders
                }
                if let products = Self.products(host: target.host, port: target.port, room: name, token: token) {
                    found = (orders, products)
                }
            }
            guard let found else {
                problems.append("room \(name): no node answered its export and welcome")
                continue
            }
            rooms.append((name, found.orders, found.products))
        }
        var checks = [Self.conservation(rooms, problems: problems)]
        if let receiver { checks.append(Self.webhooks(rooms.flatMap(\.orders), receiver: receiver)) }
        return checks
    }

    /// paid + unpaid-in-window + left = stock, for every product of every room; no order left
    /// accepted past its deadline.
    static func conservation(
        _ rooms: [(name: String, orders: [StoredOrder], products: [String: (stock: Int, left: Int)])], problems: [String]
    ) -> Report.Check {
        let now = WallClock.nowMillis()
        var totals = (paid: 0, unpaid: 0, final: 0, left: 0, stock: 0, returned: 0, taken: 0)
        var wrong: [String] = problems
        for room in rooms {
            for (sku, product) in room.products.sorted(by: { $0.key < $1.key }) {
                let orders = room.orders.filter { $0.sku == sku }
                let paid = orders.filter { $0.state == "paid" }.reduce(0) { $0 + $1.qty }
                let unpaid = orders.filter { $0.state == "accepted" && $0.payBy != nil }.reduce(0) { $0 + $1.qty }
                let final = orders.filter { $0.state == "accepted" && $0.payBy == nil }.reduce(0) { $0 + $1.qty }
                let stale = orders.filter { $0.state == "accepted" && ($0.payBy ?? Int64.max) < now - 1000 }
                let returned = orders.filter { $0.state == "cancelled" }.reduce(0) { $0 + $1.qty }
                totals.paid += paid
                totals.unpaid += unpaid
                totals.final += final
                totals.left += product.left
                totals.stock += product.stock
                totals.returned += returned
                totals.taken += orders.reduce(0) { $0 + $1.qty }
                if paid + unpaid + final + product.left != product.stock {
                    wrong.append(
                        "\(room.name)/\(sku): paid \(paid) + unpaid \(unpaid) + final \(final) + left \(product.left) != stock \(product.stock)"
                    )
                }
                if let example = stale.first {
                    wrong.append("\(room.name): \(stale.count) orders past their deadline still unpaid, e.g. \(example.id)")
                }
            }
        }
        let resold = max(0, totals.taken - totals.stock)
        var detail =
            "paid \(totals.paid) + unpaid in window \(totals.unpaid) + final \(totals.final) + left \(totals.left) = stock \(totals.stock) "
            + "over \(rooms.count) room(s); \(totals.returned) units came back from cancelled orders, \(resold) of them sold again"
        if let first = wrong.first { detail += " — \(first)" }
        return .init(name: "stock_conserved", ok: wrong.isEmpty, detail: detail)
    }

    /// Every event the stored orders imply (accepted, and paid or cancelled), delivered.
    static func webhooks(_ orders: [StoredOrder], receiver: WebhookReceiver) -> Report.Check {
        var expected = Set(orders.map { $0.id + ".accepted" })
        for order in orders where order.state != "accepted" { expected.insert(order.id + "." + order.state) }
        let deadline = MonotonicClock.seconds() + 60
        while MonotonicClock.seconds() < deadline {
            let delivered = Set(receiver.deliveries.filter { (200..<300).contains($0.status) }.map(\.event))
            if expected.isSubset(of: delivered) { break }
            usleep(100_000)
        }
        let check = WebhookDeliveryCheck(deliveries: receiver.deliveries, expected: expected)
        var detail =
            "\(expected.count - check.missing.count) of \(expected.count) order events delivered, \(check.duplicates) duplicates, "
            + "\(check.outOfOrder.count) rooms out of order, \(check.badSignatures) bad signatures"
        if let example = check.missing.first { detail += " (missing e.g. \(example))" }
        return .init(name: "webhook_delivered", ok: check.passed, detail: detail)
    }

    /// A room's stored orders with state, quantity and deadline; nil if the node did not answer.
    static func export(host: String, port: UInt16, room: String, token: String) -> [StoredOrder]? {
        var orders: [StoredOrder] = []
        var after: String?
        while true {
            var path = "/api/rooms/\(room)/orders?format=jsonl&limit=10000&token=\(token)"
            if let after { path += "&after=\(after)" }
            guard let body = StoredOrdersCheck.get(host: host, port: port, path: path) else { return nil }
            var last: String?
            for line in body.split(separator: UInt8(ascii: "\n")) {
                guard let row = try? JSONParser.parse(Array(line)), let id = row["order"]?.stringValue else { continue }
                orders.append(
                    StoredOrder(
                        id: id, sku: row["sku"]?.stringValue ?? "", state: row["state"]?.stringValue ?? "accepted",
                        qty: Int(row["qty"]?.intValue ?? 0),
                        payBy: row["pay_by"]?.intValue))
                last = id
            }
            guard let last else { return orders }
            after = last
        }
    }

    /// Each product's stock and units left, from a welcome.
    static func products(host: String, port: UInt16, room: String, token: String) -> [String: (stock: Int, left: Int)]? {
        guard let client = try? BlockingWebSocketClient(host: host, port: port, path: "/live/\(room)?token=\(token)", timeout: 10),
            let welcome = try? JSONParser.parse(client.receiveMessage().payload), welcome["type"]?.stringValue == "welcome"
        else { return nil }
        try? client.sendClose()
        var products: [String: (stock: Int, left: Int)] = [:]
        for product in welcome["products"]?.arrayValue ?? [] {
            guard let sku = product["sku"]?.stringValue else { continue }
            products[sku] = (Int(product["stock"]?.intValue ?? 0), Int(product["left"]?.intValue ?? 0))
        }
        return products
    }
}
