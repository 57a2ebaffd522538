import LiveRoom

/// Durable storage for rooms and accepted orders: the seam between the room logic and SQLite
/// (or, later, another store). Called from one writer thread, plus read-only readers.
public protocol OrderStore: AnyObject {
    /// Stores orders and room snapshots in one transaction: all of them, or none (throws).
    func commit(orders: [Order], rooms: [RoomSnapshot]) throws
    /// Every room with its accepted orders, oldest order first.
    func load() throws -> [(room: RoomSnapshot, orders: [Order])]
    /// A page of a room's orders after `after` (an order id, exclusive), oldest first.
    func orders(room: String, after: String?, limit: Int) throws -> [Order]
}
