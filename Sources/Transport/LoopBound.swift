/// A loop-owned value that travels through other threads (inside an `execute` task, a journal
/// completion) but is used only back on its own loop — checked, in debug builds, on every use.
/// The shape of SwiftNIO's `NIOLoopBound`: the `@unchecked Sendable` is exactly as safe as the
/// `assertInLoop()` calls that guard both ends.
public struct LoopBound<Value>: @unchecked Sendable {
    public let loop: EventLoop
    private let wrapped: Value

    /// Wraps `value`, which belongs to `loop`. Called on `loop` (or before it runs).
    public init(_ value: Value, loop: EventLoop) {
        loop.assertInLoop()
        self.loop = loop
        self.wrapped = value
    }

    /// The value; only on its loop.
    public var value: Value {
        self.loop.assertInLoop()
        return self.wrapped
    }

    /// Runs `body` with the value on its loop: inline when already there, else through the loop's
    /// inbox. Work for one loop from one producer stays in order either way.
    public func withValueOnLoop(_ body: @escaping @Sendable (Value) -> Void) {
        if self.loop.inLoop {
            body(self.wrapped)
        } else {
            self.loop.execute { body(self.value) }
        }
    }
}
