/// A value behind a pthread mutex (`Lock`): the way shared tables (the room directory, metrics,
/// admission tallies) are reached from several loops. Not `Synchronization.Mutex`: on Linux that
/// locks with raw futex calls, which ThreadSanitizer cannot see, so every access under it would be
/// reported as a race and hide the real ones.
///
/// `@unchecked Sendable`: the value is read and written only inside `withLock`.
public final class LockedValue<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try self.lock.withLock { try body(&self.value) }
    }

    /// A copy of the current value.
    public var current: Value { self.withLock { $0 } }
}
