import LiveRoom

/// What a store refuses to read.
public enum OrderStoreError: Error, Equatable, CustomStringConvertible {
    /// `after` names no order of the room.
    case unknownOrder(String)
    /// No room of that name was ever stored.
    case unknownRoom(String)

    public var description: String {
        switch self {
        case .unknownOrder(let id): return "no order '\(id)' in this room (after= must name one of its orders)"
        case .unknownRoom(let room): return "no room '\(room)'"
        }
    }
}

/// Durable storage for rooms and accepted orders: the seam between the room logic and SQLite
/// (or, later, another store). Called from one writer thread, plus read-only readers.
public protocol OrderStore: AnyObject {
    /// Stores orders (new ones, and new states of stored ones), room snapshots and what the
    /// webhook delivery learned, in one transaction: all of them, or none (throws). A store with
    /// an outbox writes each order change's event in the same transaction.
    func commit(orders: [Order], rooms: [RoomSnapshot], outbox: [OutboxChange]) throws
    /// Every room with its accepted orders, oldest order first.
    func load() throws -> [(room: RoomSnapshot, orders: [Order])]
    /// A page of a room's orders after `after` (an order id, exclusive), oldest first.
    func orders(room: String, after: String?, limit: Int) throws -> [Order]
}

extension OrderStore {
    public func commit(orders: [Order], rooms: [RoomSnapshot]) throws {
        try self.commit(orders: orders, rooms: rooms, outbox: [])
    }
}
