/// What the room tells clients. The gateway encodes each event to JSON once.
public enum RoomEvent: Equatable, Sendable {
    case welcome(Welcome)
    /// `shown` is true in the room broadcast; false only in the copy to its sender.
    case comment(Comment, shown: Bool)
    case viewers(count: Int)
    case likes(count: Int, total: Int)
    case room(live: Bool, title: String)
    case product(Product)
    case pin(sku: SKU?)
    /// The room's video changed (nil: none).
    case stream(StreamSource?)
    case sale(sku: SKU, sale: FlashSale)
    case stock(sku: SKU, left: Int)
    /// The sampled "someone just bought" ticker, with a masked name.
    case bought(name: String, sku: SKU, qty: Int)
    /// `payment` is set for an order with a payment window, or whose order is no longer accepted.
    case orderResult(ref: String, status: OrderStatus, order: String?, payment: OrderPayment? = nil)
    /// The order stream to streamers and moderators.
    case order(Order)
    /// An order was paid, cancelled or expired: to its buyer and to the staff.
    case orderUpdate(Order)
    case slowMode(seconds: Int)
    case muted(user: String, until: Int64?)
    case unmuted(user: String)
    /// The room's moderator list, to its staff, when it changes.
    case moderators(users: [String])
    case error(code: RoomError, message: String, ref: String?)

    public struct Welcome: Equatable, Sendable {
        public var room: String
        public var epoch: String
        public var title: String
        public var live: Bool
        public var viewers: Int
        public var seq: UInt64
        public var pinned: SKU?
        public var products: [Product]
        public var comments: [Comment]
        public var recovered: Bool
        public var you: Identity
        public var slowMode: Int
        public var stream: StreamSource?
        /// The server's clock (ms since 1970) when the welcome was made: pages count sales down
        /// on the server's time, whatever their own clock says.
        public var now: Int64

        public init(
            room: String, epoch: String, title: String, live: Bool, viewers: Int, seq: UInt64, pinned: SKU?,
            products: [Product], comments: [Comment], recovered: Bool, you: Identity, slowMode: Int, stream: StreamSource? = nil,
            now: Int64 = 0
        ) {
            self.stream = stream
            self.now = now
            self.room = room
            self.epoch = epoch
            self.title = title
            self.live = live
            self.viewers = viewers
            self.seq = seq
            self.pinned = pinned
            self.products = products
            self.comments = comments
            self.recovered = recovered
            self.you = you
            self.slowMode = slowMode
        }
    }
}

/// Error codes in `error` messages. The connection stays open after every one of them.
public enum RoomError: String, Sendable {
    case badJSON = "bad_json"
    case badRequest = "bad_request"
    case unknownType = "unknown_type"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case conflict
    case rateLimited = "rate_limited"
    case slowMode = "slow_mode"
    case muted
    case tooLong = "too_long"
    case blocked
    case roomNotLive = "room_not_live"
    /// A change that could not be stored, so it was not made.
    case unavailable
}

/// What the gateway must do after the room applied a command.
public enum RoomEffect: Equatable, Sendable {
    /// To one connection; never dropped.
    case send(MemberID, RoomEvent)
    /// To every connection in the room. Droppable events may be skipped for a slow viewer.
    case broadcast(RoomEvent, droppable: Bool)
    /// To the room's streamers, moderators and admins (the order stream); never dropped.
    case staff(RoomEvent)
    /// Close these connections with `code` (banned users).
    case disconnect([MemberID], code: UInt16, reason: String)
    /// Make this order durable, then report back with `orderCommitted` or `orderFailed`.
    /// Nobody is told "accepted" before that.
    case commit(Order)
    /// Store these orders' new states (paid, cancelled), then report back with `ordersUpdated`
    /// or `orderUpdatesFailed`. Nobody is told before that.
    case updateOrders([Order])
    /// The answer to the shop's call `ticket` (`Room.shop`).
    case shopAnswer(ticket: Int, ShopAnswer)
    /// The room's durable state changed: store this snapshot, and carry out the effects after this
    /// one (and anything later for this room) only once it is stored, so nobody hears of a change
    /// that a crash would forget. The room puts it first in the list of the call that changed it.
    case persist(RoomSnapshot)
    /// What the command came to, for metrics: the room says it, nobody reads it off other effects.
    case record(RoomOutcome)
}

/// The outcome of a comment or an order, counted by the gateway's metrics.
public enum RoomOutcome: Equatable, Sendable {
    /// A comment accepted; `shown` when the room saw it (false: only its sender, over budget).
    case commentAccepted(shown: Bool)
    case commentRefused(RoomError)
    /// An order answered with something other than `accepted` (a status or an error code).
    case orderRefused(reason: String)
}
