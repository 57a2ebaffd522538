import JSON
import LiveRoom

/// One order event waiting in the webhook outbox (docs/ORDERS.md): written in the same
/// transaction as the order change it reports, so an event exists exactly when its change is
/// durable, and deleted once the shop's endpoint took it.
public struct OutboxEvent: Equatable, Sendable {
    /// Increasing in commit order (and so, per room, in the order the room made its changes).
    public var seq: Int64
    /// `order-id.state`: the same change always has the same id, so a receiver drops duplicates.
    public var event: String
    public var room: String
    /// `order.accepted`, `order.paid` or `order.cancelled`.
    public var type: String
    /// The order as it was after the change, as a JSON object.
    public var order: String
    public var createdAt: Int64
    public var attempts: Int
    /// Not before (ms since 1970): the backoff after a failed attempt.
    public var nextAt: Int64
    public var parked: Bool
    public var lastError: String?

    public init(
        seq: Int64, event: String, room: String, type: String, order: String, createdAt: Int64, attempts: Int = 0, nextAt: Int64 = 0,
        parked: Bool = false, lastError: String? = nil
    ) {
        self.seq = seq
        self.event = event
        self.room = room
        self.type = type
        self.order = order
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAt = nextAt
        self.parked = parked
        self.lastError = lastError
    }

    /// The request body the shop receives: the same bytes on every attempt.
    public var body: [UInt8] {
        var w = JSONWriter(capacity: 256 + self.order.utf8.count)
        w.raw("{\"id\":"); w.string(self.event)
        w.raw(",\"seq\":"); w.int(self.seq)
        w.raw(",\"type\":"); w.string(self.type)
        w.raw(",\"room\":"); w.string(self.room)
        w.raw(",\"created_at\":"); w.int(self.createdAt)
        w.raw(",\"order\":"); w.bytes.append(contentsOf: self.order.utf8)
        w.raw("}")
        return w.bytes
    }

    /// The event of an order change as one JSON object without its `seq` (which the store adds
    /// when it appends it: cluster mode's Redis outbox keeps events in this form, `seq` first).
    public static func unnumbered(_ order: Order) -> String {
        let event = Self.of(order)
        var w = JSONWriter(capacity: 256 + event.order.utf8.count)
        w.raw("{\"event\":"); w.string(event.event)
        w.raw(",\"type\":"); w.string(event.type)
        w.raw(",\"room\":"); w.string(order.room)
        w.raw(",\"created_at\":"); w.int(order.updatedAt)
        w.raw(",\"order\":"); w.bytes.append(contentsOf: event.order.utf8)
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Reads an event stored in that form with its `seq`; nil when malformed.
    public static func parse(stored bytes: [UInt8]) -> OutboxEvent? {
        guard let json = try? JSONParser.parse(bytes), let seq = json["seq"]?.intValue, let event = json["event"]?.stringValue,
            let room = json["room"]?.stringValue, let type = json["type"]?.stringValue, let order = json["order"]
        else { return nil }
        var w = JSONWriter()
        w.value(order)
        return OutboxEvent(
            seq: seq, event: event, room: room, type: type, order: String(decoding: w.bytes, as: UTF8.self),
            createdAt: json["created_at"]?.intValue ?? 0)
    }

    /// The event a stored order change produces.
    public static func of(_ order: Order) -> (event: String, type: String, order: String) {
        var w = JSONWriter(capacity: 256)
        w.raw("{\"id\":"); w.string(order.id)
        w.raw(",\"room\":"); w.string(order.room)
        w.raw(",\"sku\":"); w.string(order.sku)
        w.raw(",\"user\":"); w.string(order.user)
        w.raw(",\"name\":"); w.string(order.name)
        w.raw(",\"qty\":"); w.int(order.qty)
        w.raw(",\"price\":"); w.int(order.price)
        w.raw(",\"ref\":"); w.string(order.ref)
        w.raw(",\"ts\":"); w.int(order.ts)
        w.raw(",\"state\":"); w.string(order.state.rawValue)
        w.raw(",\"pay_by\":")
        if let payBy = order.payBy { w.int(payBy) } else { w.raw("null") }
        w.raw(",\"reason\":")
        if let reason = order.reason { w.string(reason.rawValue) } else { w.raw("null") }
        w.raw(",\"updated_at\":"); w.int(order.updatedAt)
        w.raw("}")
        return (order.id + "." + order.state.rawValue, "order." + order.state.rawValue, String(decoding: w.bytes, as: UTF8.self))
    }
}

/// What the webhook delivery learned about an outbox event, written through the journal (its
/// one writer) in the next transaction.
public enum OutboxChange: Equatable, Sendable {
    /// The shop's endpoint answered 2xx: the event leaves the outbox.
    case delivered(seq: Int64)
    /// An attempt failed; the next is not before `nextAt`.
    case failed(seq: Int64, attempts: Int, nextAt: Int64, error: String)
    /// Out of attempts: kept, no longer tried, until an operator replays it.
    case parked(seq: Int64, attempts: Int, error: String)
    /// Tried again from the start (attempts 0).
    case replay(seq: Int64)
}
