import Synchronization

/// A counter bumped from any event loop (relaxed atomic add), read by metrics and tests.
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    public init() {}

    @inline(__always)
    public func increment(by amount: Int = 1) {
        self.storage.wrappingAdd(amount, ordering: .relaxed)
    }

    public var value: Int { self.storage.load(ordering: .relaxed) }
}

/// Server-wide event counters. They count events (a protocol error, a disconnect), never
/// per-delivery work, so the atomic add stays off the fan-out path.
public final class ServerCounters: Sendable {
    public let protocolErrors = Counter()
    public let slowConsumerDisconnects = Counter()
    public let ordersAccepted = Counter()
    /// Orders whose commit failed: stock given back, buyer told `unavailable`.
    public let ordersUnavailable = Counter()
    public let journalFailures = Counter()
    public init() {}
}
