/// What of a room outlives the process: its settings, its products and their sales. Orders are
/// stored on their own; comments are not kept (a restart changes the epoch and clients reload).
public struct RoomSnapshot: Equatable, Sendable {
    public var id: String
    public var owner: String
    public var title: String
    public var live: Bool
    public var slowMode: Int
    public var pinned: SKU?
    /// In display order; `stock` is units ever put on sale (`left` is derived from orders).
    public var products: [Product]
    /// Moderation is room state too: the owner's moderator list, banned users, and muted users
    /// with the end of their mute (ms since 1970; `Int64.max` for "until unmuted").
    public var moderators: [String]
    public var banned: [String]
    public var muted: [String: Int64]
    /// The room's video, if its streamer set one.
    public var stream: StreamSource?

    public init(
        id: String, owner: String, title: String, live: Bool, slowMode: Int, pinned: SKU?, products: [Product],
        moderators: [String] = [], banned: [String] = [], muted: [String: Int64] = [:], stream: StreamSource? = nil
    ) {
        self.stream = stream
        self.id = id
        self.owner = owner
        self.title = title
        self.live = live
        self.slowMode = slowMode
        self.pinned = pinned
        self.products = products
        self.moderators = moderators
        self.banned = banned
        self.muted = muted
    }
}

extension Room {
    public func snapshot() -> RoomSnapshot {
        RoomSnapshot(
            id: self.id, owner: self.owner, title: self.title, live: self.live, slowMode: self.slowModeSeconds,
            pinned: self.pinned, products: self.allProducts, moderators: self.moderators.sorted(), banned: self.banned.sorted(),
            muted: self.mutedUntil, stream: self.stream)
    }

    /// Rebuilds a room after a restart: stock left = stock − accepted quantity, per-buyer counts of
    /// each product's current sale, and every accepted ref mapped to its order, so a buyer who
    /// retries after the restart gets the same order, not a second one.
    public static func restore(
        _ snapshot: RoomSnapshot, orders: [Order], epoch: String, settings: RoomSettings = RoomSettings(), now: Int64,
        ledger: any StockLedger = InMemoryStockLedger(), comments: [Comment] = []
    ) -> Room {
        // Stored comments (cluster mode keeps recent history in Redis) come back with their seqs,
        // and the sequencer goes on after the last one.
        let sequencer = InMemoryCommentSequencer(current: comments.map(\.seq).max() ?? 0)
        let room = Room(
            id: snapshot.id, epoch: epoch, title: snapshot.title, settings: settings, ledger: ledger, sequencer: sequencer, now: now)
        for comment in comments.sorted(by: { $0.seq < $1.seq }) { room.history.append(comment) }
        room.owner = snapshot.owner
        room.lastSaved = snapshot
        room.live = snapshot.live
        room.slowModeSeconds = snapshot.slowMode
        room.pinned = snapshot.pinned
        room.stream = snapshot.stream
        room.moderators = Set(snapshot.moderators)
        room.banned = Set(snapshot.banned)
        room.mutedUntil = snapshot.muted.filter { $0.value > now }
        var sold: [SKU: Int] = [:]
        // Order ids are room-epoch-counter; a room rebuilt in the same epoch (cluster mode keeps
        // the epoch across owners) goes on counting after the highest id it finds.
        let prefix = "\(snapshot.id)-\(epoch)-"
        for order in orders where order.id.hasPrefix(prefix) {
            if let number = Int(order.id.dropFirst(prefix.count)) { room.orderCounter = max(room.orderCounter, number) }
        }
        for order in orders {
            let key = order.user + "\n" + order.ref
            room.acceptedOrders[key] = order
            room.orderKeys[order.id] = key
            // A cancelled order's units went back; an unpaid one's deadline is watched again.
            guard order.holdsStock else { continue }
            sold[order.sku, default: 0] += order.qty
            if order.state == .accepted, let payBy = order.payBy { room.deadlines.push(payBy, order.id) }
        }
        for var product in snapshot.products {
            let left = max(0, product.stock - (sold[product.sku] ?? 0))
            room.ledger.add(product.sku, quantity: left)
            if left == 0 && product.sale.state == .live { product.sale.state = .soldOut }
            if left > 0 && product.sale.state == .soldOut { product.sale.state = .live }
            product.left = left
            room.products[product.sku] = product
            room.productOrder.append(product.sku)
        }
        for order in orders where order.holdsStock {
            guard let sale = room.products[order.sku]?.sale, sale.state != .none, order.ts >= (sale.startsAt ?? 0) else { continue }
            room.boughtBySKU[order.sku, default: [:]][order.user, default: 0] += order.qty
        }
        return room
    }
}
