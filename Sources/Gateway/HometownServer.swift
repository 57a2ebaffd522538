import Transport

/// The server object: event loops, listeners, and the shared state sessions reach through it.
/// Tests run it in-process on port 0; `hometown serve` runs it until a signal.
public final class HometownServer: @unchecked Sendable {
    public let config: ServerConfiguration
    public let counters = ServerCounters()
    let group: EventLoopGroup
    let benchHub: BenchHub

    public init(config: ServerConfiguration) throws {
        self.config = config
        self.group = try EventLoopGroup(loopCount: config.loopCount)
        self.benchHub = BenchHub(loops: self.group.loops)
        for loop in self.group.loops {
            loop.defaultLimits = config.outbound.limits
            loop.acceptHandler = { [unowned self] connection in
                WebSocketSession(connection: connection, server: self)
            }
        }
    }

    /// The bound port (after `start`), which differs from the configured one when that was 0.
    public var port: UInt16 { self.group.port }

    /// Binds the listeners and starts the loops.
    public func start() throws {
        try self.group.bind(host: self.config.host, port: self.config.port)
        self.group.start()
        Log.info("listening", ["host": self.config.host, "port": self.port, "loops": self.group.loops.count])
    }

    /// Closes listeners and connections and waits for the loops to finish.
    public func stop() {
        self.group.stop()
    }

    /// Open connections across loops (read racily; for tests and metrics).
    public var connectionCount: Int { self.group.loops.reduce(0) { $0 + $1.connectionCount } }
}
