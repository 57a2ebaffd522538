/// An accepted order.
public struct Order: Equatable, Sendable {
    /// Unique across rooms and restarts: the room, the server's epoch, and a counter.
    public var id: String
    public var room: String
    public var sku: SKU
    public var user: String
    public var name: String
    public var qty: Int
    /// Unit price in cents at the moment of the order.
    public var price: Int
    /// The buyer's idempotency key.
    public var ref: String
    /// Wall-clock milliseconds.
    public var ts: Int64

    public init(id: String, room: String, sku: SKU, user: String, name: String, qty: Int, price: Int, ref: String, ts: Int64) {
        self.id = id
        self.room = room
        self.sku = sku
        self.user = user
        self.name = name
        self.qty = qty
        self.price = price
        self.ref = ref
        self.ts = ts
    }
}

/// The answer to an order, checked in this order (the protocol promises it).
public enum OrderStatus: String, Sendable {
    case accepted
    case invalid
    case notOnSale = "not_on_sale"
    case limitReached = "limit_reached"
    case soldOut = "sold_out"
    /// The order could not be made durable; the ref may be retried.
    case unavailable
}
