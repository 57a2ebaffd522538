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
    /// Where the order is in its life (docs/ORDERS.md).
    public var state: OrderState
    /// The payment deadline (ms since 1970) of an order taken in a sale with a payment window;
    /// nil: the order is final when accepted (no window).
    public var payBy: Int64?
    /// Why a cancelled order was cancelled.
    public var reason: CancelReason?
    /// When the state last changed (ms since 1970); `ts` for an order still accepted.
    public var updatedAt: Int64

    public init(
        id: String, room: String, sku: SKU, user: String, name: String, qty: Int, price: Int, ref: String, ts: Int64,
        state: OrderState = .accepted, payBy: Int64? = nil, reason: CancelReason? = nil, updatedAt: Int64? = nil
    ) {
        self.id = id
        self.room = room
        self.sku = sku
        self.user = user
        self.name = name
        self.qty = qty
        self.price = price
        self.ref = ref
        self.ts = ts
        self.state = state
        self.payBy = payBy
        self.reason = reason
        self.updatedAt = updatedAt ?? ts
    }

    /// Holds stock: accepted (reserved, or final without a window) or paid.
    public var holdsStock: Bool { self.state != .cancelled }

    /// The room an order id belongs to: ids are `room-epoch-counter`, and neither the epoch nor
    /// the counter contains a `-`.
    public static func room(ofID id: String) -> String? {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[parts.count - 1].isEmpty, !parts[parts.count - 2].isEmpty else { return nil }
        let room = parts.dropLast(2).joined(separator: "-")
        return room.isEmpty ? nil : room
    }
}

/// An order's life: `accepted` (stock reserved) → `paid`, or → `cancelled` (with a reason). Both
/// ends are final. An order from a sale without a payment window stays `accepted`, final.
public enum OrderState: String, Sendable {
    case accepted
    case paid
    case cancelled
}

public enum CancelReason: String, Sendable {
    /// Not paid within the sale's payment window.
    case expired
    /// The shop cancelled it (`POST /api/orders/{id}/cancel`).
    case shop
    /// The buyer cancelled it (`order.cancel`).
    case buyer
}

/// What the shop (or the buyer) asks of an order.
public enum OrderChange: Equatable, Sendable {
    case pay
    case cancel(CancelReason)
}

/// The room's answer to the shop's `paid` or `cancel`, for the HTTP handler that waits for it.
public enum ShopAnswer: Equatable, Sendable {
    /// The order is now in the state asked for (or already was: the call is idempotent).
    case done(Order)
    /// The order's state does not allow it (`paid` after it expired): the state and why.
    case conflict(Order, String)
    case notFound
    /// The change could not be stored, so it was not made; the shop may retry.
    case unavailable
}

/// The payment part of an `order.result`: when to pay by, where, and the order's state (a retried
/// ref whose order was cancelled meanwhile says so).
public struct OrderPayment: Equatable, Sendable {
    public var state: OrderState
    public var payBy: Int64?
    public var checkout: String?

    public init(state: OrderState, payBy: Int64?, checkout: String?) {
        self.state = state
        self.payBy = payBy
        self.checkout = checkout
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
