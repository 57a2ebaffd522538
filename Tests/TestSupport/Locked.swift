import Synchronization

/// A value that test threads share: every access takes the lock. For tallies made by completion
/// handlers on other threads and read by the test after it waited for them.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { self.mutex = Mutex(value) }

    public func withLock<T>(_ body: (inout Value) -> T) -> T { self.mutex.withLock { body(&$0) } }

    public var value: Value { self.mutex.withLock { $0 } }
}
