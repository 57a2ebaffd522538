import Synchronization

/// N event loops, one per core by default, each accepting from its own SO_REUSEPORT listener on
/// the shared port, so new connections spread over loops without a hand-off thread.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let boundPort = Atomic<UInt16>(0)

    /// The port actually bound (useful after asking for port 0).
    public var port: UInt16 { self.boundPort.load(ordering: .relaxed) }

    public init(loopCount: Int) throws {
        precondition(loopCount >= 1, "need at least one event loop")
        self.loops = try (0..<loopCount).map { try EventLoop(index: $0) }
    }

    /// Binds one listener per loop on `host:port` (port 0 picks a free port for all of them).
    public func bind(host: String, port: UInt16) throws {
        var boundPort = port
        for loop in self.loops {
            let fd = try Socket.listen(host: host, port: boundPort, reusePort: true)
            if boundPort == 0 { boundPort = try Socket.localPort(fd) }
            try loop.addListener(fd)
        }
        self.boundPort.store(boundPort, ordering: .relaxed)
    }

    public func start() {
        for loop in self.loops { loop.start() }
    }

    /// Stops every loop and waits for their threads.
    public func stop() {
        for loop in self.loops { loop.stop() }
        for loop in self.loops { loop.join() }
    }

    /// Runs `body` on every loop (on each loop's own thread).
    public func forEachLoop(_ body: @escaping @Sendable (EventLoop) -> Void) {
        for loop in self.loops { loop.execute { body(loop) } }
    }
}
