/// Where a room counts flash stock. Plain integers touched only by the room's own event loop, so
/// check-and-decrement is atomic by construction. Not a network seam: `reserve` answers
/// synchronously inside one step of the room, so a remote store (Redis) cannot stand behind it
/// without blocking the loop; a cluster keeps one owner per room that counts here, in memory.
public protocol StockLedger: AnyObject {
    /// Units left for `sku` (0 for an unknown SKU).
    func left(_ sku: SKU) -> Int
    /// Takes `quantity` units if that many are left; false (and nothing taken) otherwise.
    func reserve(_ sku: SKU, quantity: Int) -> Bool
    /// Puts units back (a reservation whose order could not be stored) or adds new stock.
    func add(_ sku: SKU, quantity: Int)
}

public final class InMemoryStockLedger: StockLedger {
    private var units: [SKU: Int] = [:]

    public init() {}

    public func left(_ sku: SKU) -> Int { self.units[sku] ?? 0 }

    public func reserve(_ sku: SKU, quantity: Int) -> Bool {
        let available = self.units[sku] ?? 0
        guard quantity > 0, available >= quantity else { return false }
        self.units[sku] = available - quantity
        return true
    }

    public func add(_ sku: SKU, quantity: Int) {
        self.units[sku, default: 0] += quantity
    }
}

/// Where comment sequence numbers come from: the second seam for scale-out (a Redis INCR per
/// room would replace it). Numbers start at 1 and never repeat within an epoch.
public protocol CommentSequencer: AnyObject {
    var current: UInt64 { get }
    func next() -> UInt64
}

public final class InMemoryCommentSequencer: CommentSequencer {
    public private(set) var current: UInt64 = 0
    /// - Parameter current: the last seq handed out (a room rebuilt from stored history goes on
    ///   from there, so `seq` keeps increasing across a change of owner).
    public init(current: UInt64 = 0) { self.current = current }
    public func next() -> UInt64 {
        self.current += 1
        return self.current
    }
}
