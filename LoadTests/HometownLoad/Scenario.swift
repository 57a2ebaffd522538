import Glibc
import JSON

/// A load scenario (Config/*.json): who connects where, how fast, what they do, and when.
struct Scenario {
    enum Distribution: String { case uniform, zipf }

    struct Phase {
        enum Kind: String { case ramp, hold, flash, rampdown }
        var name: String
        var kind: Kind
        /// ramp: connect up to this many viewers (default: all).
        var viewers: Int?
        /// ramp/rampdown: connections opened or closed per second.
        var rate: Double
        /// hold/flash: how long the phase lasts.
        var seconds: Double
    }

    struct ProductSpec {
        var sku: String
        var title: String
        var price: Int
        var stock: Int
    }

    var name = "scenario"
    var urls: [String] = ["ws://127.0.0.1:8080"]
    var secret = "hometown-development-secret"
    var roomCount = 1
    var roomPrefix = "load"
    var distribution = Distribution.uniform
    var zipfExponent = 1.1
    var viewers = 100
    var phases: [Phase] = []
    var commentsPerViewerPerSecond = 0.0
    var likesPerViewerPerSecond = 0.0
    var products: [ProductSpec] = []
    /// The product the flash phase sells, and its per-buyer limit.
    var saleSKU: String?
    var saleLimit = 1
    var buyerFraction = 0.5
    var buyQuantity = 1
    /// Times each buyer repeats its order with the same ref after the answer (idempotency check).
    var retries = 1
    /// Distinct orders (new refs) a buyer places while they keep being accepted: above the sale's
    /// limit, the last ones must come back `limit_reached`.
    var ordersPerBuyer = 1
    /// Buyers tap within this many seconds of the sale going live (uniformly), instead of all at
    /// once: a sale that lasts long enough for something to happen in the middle of it.
    var buySpreadSeconds = 0.0
    /// The sale's payment window in seconds (0: orders are final), and how buyers behave after
    /// the room accepted their order: a share never pays, a share pays after the deadline (the
    /// shop is refused: 409, expired), the rest pay within `payWithin` seconds. Payments are
    /// made as the shop would, through `POST /api/orders/{id}/paid` with `shopToken`.
    var paymentWindow = 0
    var neverPay = 0.0
    var payLate = 0.0
    var payWithin = 0.0
    var shopToken = ""
    var sources = 4
    var loops = 2
    /// Failing thresholds: p99 limits in milliseconds (0 = none).
    var maxOrderP99 = 0.0
    var maxCommentP99 = 0.0

    struct Error: Swift.Error, CustomStringConvertible {
        let message: String
        var description: String { self.message }
    }

    static func load(_ bytes: [UInt8]) throws -> Scenario {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw Error(message: "scenario is not valid JSON: \(error)") }
        var s = Scenario()
        func number(_ value: JSONValue?, _ key: String) throws -> Double? {
            guard let value else { return nil }
            guard let number = value.doubleValue else { throw Error(message: "scenario: \(key) must be a number") }
            return number
        }
        s.name = root["name"]?.stringValue ?? s.name
        if let url = root["url"]?.stringValue { s.urls = [url] }
        if let urls = root["url"]?.arrayValue { s.urls = urls.compactMap(\.stringValue) }
        s.secret = root["secret"]?.stringValue ?? s.secret
        if let rooms = root["rooms"] {
            s.roomCount = Int(try number(rooms["count"], "rooms.count") ?? 1)
            s.roomPrefix = rooms["prefix"]?.stringValue ?? s.roomPrefix
            if let name = rooms["distribution"]?.stringValue {
                guard let distribution = Distribution(rawValue: name) else {
                    throw Error(message: "scenario: rooms.distribution must be uniform or zipf")
                }
                s.distribution = distribution
            }
            s.zipfExponent = try number(rooms["zipf_s"], "rooms.zipf_s") ?? s.zipfExponent
        }
        s.viewers = Int(try number(root["viewers"], "viewers") ?? Double(s.viewers))
        for (index, phase) in (root["phases"]?.arrayValue ?? []).enumerated() {
            guard let kindName = phase["kind"]?.stringValue, let kind = Phase.Kind(rawValue: kindName) else {
                throw Error(message: "scenario: phases[\(index)].kind must be ramp, hold, flash or rampdown")
            }
            s.phases.append(
                Phase(
                    name: phase["name"]?.stringValue ?? kindName, kind: kind,
                    viewers: try number(phase["viewers"], "phases[\(index)].viewers").map(Int.init),
                    rate: try number(phase["rate"], "phases[\(index)].rate") ?? 500,
                    seconds: try number(phase["seconds"], "phases[\(index)].seconds") ?? 5))
        }
        s.commentsPerViewerPerSecond = try number(root["comments"]?["per_viewer_per_second"], "comments.per_viewer_per_second") ?? 0
        s.likesPerViewerPerSecond = try number(root["likes"]?["per_viewer_per_second"], "likes.per_viewer_per_second") ?? 0
        if let streamer = root["streamer"] {
            for product in streamer["products"]?.arrayValue ?? [] {
                guard let sku = product["sku"]?.stringValue, let stock = product["stock"]?.intValue else {
                    throw Error(message: "scenario: each streamer.products entry needs sku and stock")
                }
                s.products.append(
                    ProductSpec(
                        sku: sku, title: product["title"]?.stringValue ?? sku, price: Int(product["price"]?.intValue ?? 100),
                        stock: Int(stock)))
            }
            s.saleSKU = streamer["sale"]?["sku"]?.stringValue ?? s.products.first?.sku
            s.saleLimit = Int(streamer["sale"]?["limit"]?.intValue ?? 1)
        }
        if let buyers = root["buyers"] {
            s.buyerFraction = try number(buyers["fraction"], "buyers.fraction") ?? s.buyerFraction
            s.buyQuantity = Int(buyers["qty"]?.intValue ?? 1)
            s.retries = Int(buyers["retries"]?.intValue ?? 1)
            s.ordersPerBuyer = max(1, Int(buyers["orders"]?.intValue ?? 1))
            s.buySpreadSeconds = max(0, try number(buyers["spread_seconds"], "buyers.spread_seconds") ?? 0)
        }
        if let payment = root["payment"] {
            s.paymentWindow = Int(payment["window"]?.intValue ?? 0)
            s.neverPay = try number(payment["never_pay"], "payment.never_pay") ?? 0
            s.payLate = try number(payment["pay_late"], "payment.pay_late") ?? 0
            s.payWithin = try number(payment["pay_within"], "payment.pay_within") ?? Double(s.paymentWindow) / 2
            s.shopToken = payment["shop_token"]?.stringValue ?? ""
            guard s.paymentWindow >= 0, s.neverPay >= 0, s.payLate >= 0, s.neverPay + s.payLate <= 1 else {
                throw Error(message: "scenario: payment.window >= 0, and never_pay + pay_late between 0 and 1")
            }
        }
        s.sources = Int(root["sources"]?.intValue ?? 4)
        s.loops = Int(root["loops"]?.intValue ?? 2)
        s.maxOrderP99 = try number(root["thresholds"]?["order_p99_ms"], "thresholds.order_p99_ms") ?? 0
        s.maxCommentP99 = try number(root["thresholds"]?["comment_p99_ms"], "thresholds.comment_p99_ms") ?? 0
        guard s.viewers >= 1, s.roomCount >= 1, !s.phases.isEmpty else {
            throw Error(message: "scenario: needs viewers >= 1, rooms.count >= 1 and at least one phase")
        }
        return s
    }

    /// Which room each viewer joins: uniform round robin, or Zipf (room 0 is the hot room).
    func roomAssignments() -> [Int] {
        switch self.distribution {
        case .uniform:
            return (0..<self.viewers).map { $0 % self.roomCount }
        case .zipf:
            let weights = (1...self.roomCount).map { 1 / pow(Double($0), self.zipfExponent) }
            let total = weights.reduce(0, +)
            var assignments: [Int] = []
            var assigned = 0
            for (room, weight) in weights.enumerated() {
                let share = room == self.roomCount - 1 ? self.viewers - assigned : Int((Double(self.viewers) * weight / total).rounded())
                let count = max(0, min(share, self.viewers - assigned))
                assignments += Array(repeating: room, count: count)
                assigned += count
            }
            return assignments
        }
    }
}
