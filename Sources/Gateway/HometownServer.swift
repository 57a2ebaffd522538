import Glibc
import LiveRoom
import OrderJournal
import Transport
import WebSocket

/// The server object: event loops, listeners, and the shared state sessions reach through it.
/// Tests run it in-process on port 0; `hometown serve` runs it until a signal.
public final class HometownServer: @unchecked Sendable {
    public let config: ServerConfiguration
    public let counters = ServerCounters()
    public let metrics = ServerMetrics()
    let limiter: ConnectionLimiter
    /// The web pages (viewer room, studio, room list).
    public let staticFiles: StaticFiles
    /// Set when a drain begins: /readyz turns 503 and new connections are refused.
    public private(set) var draining = false
    let group: EventLoopGroup
    let benchHub: BenchHub
    public let rooms: RoomHub
    var journal: GroupCommitJournal?

    /// - Parameter wrapStore: lets tests put a fault-injecting store in front of SQLite.
    public init(config: ServerConfiguration, wrapStore: ((any OrderStore) -> any OrderStore)? = nil) throws {
        self.config = config
        self.group = try EventLoopGroup(loopCount: config.loopCount)
        if config.tls.enabled {
            let context: TLSContext
            do {
                context = try TLSContext(certificateChain: config.tls.cert, privateKey: config.tls.key)
            } catch {
                throw ConfigurationLoader.Error(key: "tls.cert/tls.key", problem: "\(error)")
            }
            for loop in self.group.loops { loop.tlsContext = context }
        }
        self.staticFiles = StaticFiles.bundled()
        self.limiter = ConnectionLimiter(
            maxConnections: config.limits.maxConnections, maxPerIP: config.limits.maxConnectionsPerIP,
            ratePerIP: config.limits.connectionRatePerIP)
        self.benchHub = BenchHub(loops: self.group.loops)
        self.rooms = RoomHub(
            loops: self.group.loops, settings: config.rooms.room,
            epoch: String(WallClock.nowMillis(), radix: 36), counters: self.counters, metrics: self.metrics)
        if config.journal.enabled { try self.openJournal(wrapStore: wrapStore) }
        for loop in self.group.loops {
            var lastTick: UInt64 = 0
            let metrics = self.metrics
            loop.onTick { now in
                // Lag: how much later than its 100 ms period this tick ran (a busy loop shows here).
                if lastTick != 0 { metrics.eventLoopLag.observe(max(0, Double(now &- lastTick) / 1e9 - 0.1)) }
                lastTick = now
            }
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
        if self.config.rooms.demo { self.createDemoRoom() }
        Log.info(
            "listening",
            [
                "host": self.config.host, "port": self.port, "loops": self.group.loops.count,
                "scheme": self.config.tls.enabled ? "wss" : "ws",
            ])
    }

    /// The durable store: opened (created) in the data directory, every room and order restored
    /// from it, and its writer thread started. Fails startup if the store cannot be opened.
    private func openJournal(wrapStore: ((any OrderStore) -> any OrderStore)?) throws {
        let directory = self.config.dataDirectory
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw ConfigurationLoader.Error(key: "data", problem: "cannot create '\(directory)': \(String(cString: strerror(errno)))")
        }
        let sqlite = try SQLiteOrderStore(path: directory + "/" + SQLiteOrderStore.fileName)
        let store = wrapStore?(sqlite) ?? sqlite
        let now = WallClock.nowMillis()
        var restoredOrders = 0
        for (snapshot, orders) in try store.load() {
            self.rooms.install(Room.restore(snapshot, orders: orders, epoch: self.rooms.epoch, settings: self.config.rooms.room, now: now))
            restoredOrders += orders.count
        }
        let journal = GroupCommitJournal(store: store)
        let counters = self.counters
        journal.onFailure = { error in
            counters.journalFailures.increment()
            Log.error("journal commit failed; orders in it were refused as unavailable", ["error": error])
        }
        let metrics = self.metrics
        journal.onCommit = { _, seconds in metrics.journalCommitLatency.observe(seconds) }
        journal.start()
        self.rooms.journal = journal
        self.journal = journal
        Log.info(
            "store opened", ["path": directory + "/" + SQLiteOrderStore.fileName, "rooms": self.rooms.roomCount, "orders": restoredOrders])
    }

    /// The `demo` room: live, with hometown goods, so a newcomer sees a room selling at once.
    private func createDemoRoom() {
        // A demo room restored from the store keeps its state (and its sales' history).
        guard self.rooms.host(for: "demo") == nil else { return }
        let host = self.rooms.hostCreating("demo", owner: "hometown")
        self.rooms.seed(
            host,
            commands: [
                .open(title: "Hometown demo: winter bamboo shoots from the hills 冬笋直播"),
                .productAdd(sku: "bamboo-shoots", title: "Winter bamboo shoots 冬笋 500 g", price: 3990, stock: 500),
                .productAdd(sku: "navel-oranges", title: "Gannan navel oranges 赣南脐橙 2.5 kg", price: 4590, stock: 300),
                .productAdd(sku: "red-apples", title: "Luochuan red apples 洛川苹果 12 pcs", price: 5990, stock: 200),
                .pin(sku: "bamboo-shoots"),
                .saleStart(sku: "bamboo-shoots", limit: 2, countdown: nil, seconds: nil),
            ])
    }

    /// Graceful drain (SIGTERM/SIGINT): stop accepting, stop reading requests, let every order
    /// already in the journal commit and its answer reach the buyer, close every WebSocket with
    /// 1001, flush the store, and stop — all within `timeout` seconds. Returns true if everything
    /// finished in time.
    @discardableResult
    public func drain(timeout: Double) -> Bool {
        let deadline = WallClock.nowMillis() + Int64(timeout * 1000)
        func left() -> Double { max(0, Double(deadline - WallClock.nowMillis()) / 1000) }
        self.draining = true
        Log.info("draining", ["connections": self.connectionCount, "timeout": timeout])
        // 1. No new connections, no new requests.
        self.onEveryLoop { loop in
            loop.closeListeners()
            loop.forEachConnection { $0.stopReading() }
        }
        // 2. Orders in flight commit, and their answers are queued (the completions run on the
        //    room loops; one more round through every loop makes sure they have).
        let ordersDone = self.journal?.waitUntilIdle(timeout: left()) ?? true
        self.onEveryLoop { _ in }
        // 3. Everyone hears we are going away, after whatever was queued for them.
        self.onEveryLoop { loop in
            loop.forEachConnection { connection in
                if let session = connection.handler as? WebSocketSession {
                    session.close(code: WebSocketCloseCode.goingAway.rawValue, reason: "server shutting down")
                } else {
                    connection.closeAfterFlush(timeout: 1_000_000_000)
                }
            }
        }
        while self.connectionCount > 0 && left() > 0 { usleep(10_000) }
        let clean = ordersDone && self.connectionCount == 0
        // 4. Stop the loops (closing whatever is left) and flush the store.
        self.stop()
        Log.info("drained", ["clean": clean])
        return clean
    }

    /// Runs `body` on every loop and waits for all of them.
    private func onEveryLoop(_ body: @escaping (EventLoop) -> Void) {
        let latch = CountdownLatch(self.group.loops.count)
        for loop in self.group.loops {
            loop.execute {
                body(loop)
                latch.countDown()
            }
        }
        latch.wait()
    }

    /// Closes listeners and connections and waits for the loops to finish.
    public func stop() {
        self.group.stop()
        // The loops are gone; commit whatever they queued before returning.
        self.journal?.stop()
    }

    /// Ready to take traffic: not draining, and the store's last commit (if any) succeeded.
    public var isReady: Bool { !self.draining && (self.journal?.isHealthy ?? true) }

    /// Open connections across loops (read racily; for tests and metrics).
    public var connectionCount: Int { self.group.loops.reduce(0) { $0 + $1.connectionCount } }
}
