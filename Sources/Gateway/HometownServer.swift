import BuildInfo
import Glibc
import LiveRoom
import OrderJournal
import RedisClient
import Synchronization
import Transport
import WebSocket
import Webhooks

/// The server: builds the event loops and the pieces each job needs (rooms, fan-out, journal,
/// HTTP router), wires them together, and runs, drains and stops them. Sessions are handed a
/// `SessionContext` with exactly what they use, not this object.
/// Tests run it in-process on port 0; `hometown serve` runs it until a signal.
public final class HometownServer: Sendable {
    public let config: ServerConfiguration
    public let metrics = ServerMetrics()
    let group: EventLoopGroup
    let directory: RoomDirectory
    let rooms: RoomRunner
    let readiness: Readiness
    let journal: GroupCommitJournal?
    let cluster: ClusterNode?
    /// The webhook outbox's delivery (nil without `orders.webhook_url`).
    let webhooks: WebhookDelivery?
    /// Single-node mode: this process's exclusive hold on the data directory.
    let dataLock: DataDirectoryLock?
    /// What sessions on the admin port get (nil when `admin.port` is 0). Set once, in `init`
    /// (after the routers it needs exist), before any thread can read it.
    private nonisolated(unsafe) var adminContext: SessionContext? = nil
    private let boundAdminPort = Atomic<UInt16>(0)

    /// - Parameter wrapStore: lets tests put a fault-injecting store in front of SQLite.
    /// The descriptor warning is said once per process (tests make many servers).
    private static let warnedAboutDescriptors = Atomic<Bool>(false)

    /// When the server was made (for `process_start_time_seconds`).
    let startedAt = Double(WallClock.nowMillis()) / 1000

    public init(config: ServerConfiguration, wrapStore: ((any OrderStore) -> any OrderStore)? = nil) throws {
        self.config = config
        if let warning = ProcessStats.raiseDescriptorLimit(forConnections: config.limits.maxConnections),
            !Self.warnedAboutDescriptors.exchange(true, ordering: .relaxed)
        {
            Log.warn("open-file limit too low", ["problem": warning])
        }
        let group = try EventLoopGroup(loopCount: config.loopCount)
        self.group = group
        if config.tls.enabled {
            let context: TLSContext
            do {
                context = try TLSContext(certificateChain: config.tls.cert, privateKey: config.tls.key)
            } catch {
                throw ConfigurationLoader.Error(key: "tls.cert/tls.key", problem: "\(error)")
            }
            for loop in group.loops { loop.tlsContext = context }
        }
        let epoch = String(WallClock.nowMillis(), radix: 36)
        let directory = RoomDirectory(
            loops: group.loops, settings: config.rooms.room, epoch: epoch, loader: Self.roomLoader(config, epoch: epoch))
        self.directory = directory
        let fanOut = FanOut(loops: group.loops, metrics: self.metrics)
        if config.cluster.enabled {
            // Cluster mode: Redis is the store (no SQLite); startup fails if it cannot be reached.
            try ClusterNode.checkReachable(config.cluster)
            self.journal = nil
            self.dataLock = nil
            let cluster = try ClusterNode(
                settings: config.cluster, port: config.port, loop: group.loops[0], directory: directory, fanOut: fanOut,
                metrics: self.metrics, outbox: config.orders.webhookEnabled)
            self.cluster = cluster
            // The rooms this node runs deliver their own outboxes (from Redis).
            self.webhooks = try Self.startWebhooks(config) {
                RedisOutbox(url: try RedisURL(config.cluster.redis), runsRoom: { directory.handle(for: $0) != nil })
            }
            if let webhooks = self.webhooks { cluster.onOutbox = { webhooks.wake() } }
        } else {
            let lock = try Self.lockDataDirectory(config)
            self.dataLock = lock
            do {
                let journal = config.journal.enabled ? try Self.openJournal(config, directory, self.metrics, wrapStore) : nil
                self.journal = journal
                self.webhooks = try journal.flatMap { journal in
                    let webhooks = try Self.startWebhooks(config) {
                        let path = config.dataDirectory + "/" + SQLiteOrderStore.fileName
                        return JournalOutbox(reader: try SQLiteOrderStore(path: path, readOnly: true), journal: journal)
                    }
                    if let webhooks { journal.afterOrders = { webhooks.wake() } }
                    return webhooks
                }
            } catch {
                lock.release()
                throw error
            }
            self.cluster = nil
        }
        self.rooms = RoomRunner(
            directory: directory, fanOut: fanOut, listing: RoomListing(), metrics: self.metrics, journal: self.journal,
            unloadAfter: config.rooms.unloadAfter, cluster: self.cluster)
        self.cluster?.runner = self.rooms
        self.readiness = Readiness(journal: self.journal, cluster: self.cluster)
        let context = SessionContext(
            config: config,
            limiter: ConnectionLimiter(
                maxConnections: config.limits.maxConnections, maxPerIP: config.limits.maxConnectionsPerIP,
                ratePerIP: config.limits.connectionRatePerIP),
            metrics: self.metrics, router: self.makeRouter(), rooms: self.rooms, bench: FanOut(loops: group.loops, metrics: nil))
        // The admin port: the operator's endpoints only, plain HTTP, its own small connection cap.
        self.adminContext =
            config.admin.enabled
            ? SessionContext(
                config: config, limiter: ConnectionLimiter(maxConnections: 256, maxPerIP: 0, ratePerIP: 0), metrics: self.metrics,
                router: self.makeRouter(admin: true), rooms: self.rooms, bench: FanOut(loops: group.loops, metrics: nil), upgrades: false)
            : nil
        for loop in group.loops {
            var lastTick: UInt64 = 0
            let metrics = self.metrics
            loop.onTick { now in
                // Lag: how much later than its 100 ms period this tick ran (a busy loop shows here).
                if lastTick != 0 { metrics.eventLoopLag.observe(max(0, Double(now &- lastTick) / 1e9 - 0.1)) }
                lastTick = now
            }
            loop.defaultLimits = config.outbound.limits
            loop.acceptHandler = { connection in WebSocketSession(connection: connection, context: context) }
        }
        // Limits hit are said in the log, at most once every 10 s each (loop 0 watches for all).
        let loops = group.loops
        let metrics = self.metrics
        var said: (backoffs: Int, full: Int, at: UInt64) = (0, 0, 0)
        group.loops[0].onTick { now in
            guard now &- said.at >= 10_000_000_000 else { return }
            let backoffs = loops.reduce(0) { $0 + $1.counters.acceptBackoffs.load(ordering: .relaxed) }
            let full = metrics.connectionsClosed["refused 503"]
            if backoffs > said.backoffs {
                Log.warn(
                    "accepting paused: out of file descriptors",
                    ["times": backoffs - said.backoffs, "open_fds": ProcessStats.openDescriptors])
            }
            if full > said.full {
                Log.warn("connections refused at a limit (503)", ["refused": full - said.full, "limit": config.limits.maxConnections])
            }
            if backoffs > said.backoffs || full > said.full { said.at = now }
            said.backoffs = backoffs
            said.full = full
        }
    }

    /// How an unloaded room comes back: from the store, through a read-only connection of its own.
    /// None when the store is off (then no room is ever unloaded).
    private static func roomLoader(_ config: ServerConfiguration, epoch: String) -> (@Sendable (String) -> Room?)? {
        guard config.journal.enabled, !config.cluster.enabled else { return nil }
        let path = config.dataDirectory + "/" + SQLiteOrderStore.fileName
        let settings = config.rooms.room
        return { id in
            guard let store = try? SQLiteOrderStore(path: path, readOnly: true), let found = try? store.load(room: id) else { return nil }
            return Room.restore(found.room, orders: found.orders, epoch: epoch, settings: settings, now: WallClock.nowMillis())
        }
    }

    /// One handler per plain-HTTP endpoint, each given only what it uses.
    /// - Parameter admin: the admin port's router (operator endpoints only). With an admin port,
    ///   the main port no longer serves `/metrics` and `/api/cluster`.
    private func makeRouter(admin: Bool = false) -> HTTPRouter {
        var router = HTTPRouter()
        let operatorEndpoints = admin || !self.config.admin.enabled
        if !admin {
            let files = StaticFiles.bundled(mediaOrigins: self.config.stage.mediaOrigins)
            router.add("/", StaticFileHandler(files: files, page: "/static/index.html"))
            router.add("/room/{name}", StaticFileHandler(files: files, page: "/static/room.html"))
            router.add("/studio/{name}", StaticFileHandler(files: files, page: "/static/studio.html"))
            router.add("/static/*", StaticFileHandler(files: files, page: nil))
            router.add("/api/dev/token", DevTokenHandler(enabled: self.config.devLoginEnabled, secret: self.config.auth.jwtSecret))
        }
        router.add("/healthz", LivenessHandler())
        router.add("/readyz", ReadinessHandler(readiness: self.readiness))
        if operatorEndpoints {
            router.add("/metrics", MetricsHandler(render: { [unowned self] in self.renderMetrics() }))
            router.add("/api/cluster", ClusterStatusHandler(secret: self.config.auth.jwtSecret, cluster: self.cluster))
            router.add(
                "/api/admin/rooms",
                RoomAdminListHandler(secret: self.config.auth.jwtSecret, directory: self.directory, listing: self.rooms.listing))
            router.add(
                "/api/admin/rooms/{name}/close", methods: ["POST"],
                RoomAdminCloseHandler(secret: self.config.auth.jwtSecret, rooms: self.rooms))
            router.add(
                "/api/admin/webhooks/parked",
                WebhookParkedHandler(
                    secret: self.config.auth.jwtSecret, dataDirectory: self.config.dataDirectory,
                    redis: try? RedisURL(self.config.cluster.redis)))
            router.add(
                "/api/admin/webhooks/replay", methods: ["POST"],
                WebhookReplayHandler(
                    secret: self.config.auth.jwtSecret, dataDirectory: self.config.dataDirectory, webhooks: self.webhooks,
                    redis: try? RedisURL(self.config.cluster.redis)))
        }
        router.add("/api/rooms", RoomListHandler(listing: self.rooms.listing))
        // The shop's server (server to server, shop token): on whichever port it can reach.
        let shopToken = self.config.orders.shopToken
        router.add(
            "/api/orders/{order}/paid", methods: ["POST"],
            ShopOrderHandler(change: .pay, token: shopToken, rooms: self.rooms, metrics: self.metrics))
        router.add(
            "/api/orders/{order}/cancel", methods: ["POST"],
            ShopOrderHandler(change: .cancel(.shop), token: shopToken, rooms: self.rooms, metrics: self.metrics))
        router.add(
            "/api/rooms/{name}/orders", methods: ["GET"],
            OrderExportHandler(
                secret: self.config.auth.jwtSecret, directory: self.directory, dataDirectory: self.config.dataDirectory,
                journalEnabled: self.config.journal.enabled, redis: self.config.cluster.enabled ? self.config.cluster.redis : nil))
        return router
    }

    /// The bound port (after `start`), which differs from the configured one when that was 0.
    public var port: UInt16 { self.group.port }

    /// The admin port (after `start`; 0 when there is none).
    public var adminPort: UInt16 { self.boundAdminPort.load(ordering: .relaxed) }

    /// Binds the listeners and starts the loops.
    public func start() throws {
        try self.group.bind(host: self.config.host, port: self.config.port)
        if let adminContext = self.adminContext {
            // One listener on loop 0 is plenty for scrapes and probes.
            let fd = try Socket.listen(host: self.config.admin.host, port: self.config.admin.port, reusePort: false)
            self.boundAdminPort.store(try Socket.localPort(fd), ordering: .relaxed)
            try self.group.loops[0].addListener(fd, tls: false) { connection in
                WebSocketSession(connection: connection, context: adminContext)
            }
        }
        self.group.start()
        if let cluster = self.cluster {
            cluster.start()
            // Redis answered at startup (checked in init); serve rooms once both connections are
            // up (bounded: /readyz says 503 until they are, and rooms wait for them).
            let deadline = WallClock.nowMillis() + 5000
            while !cluster.isReady && WallClock.nowMillis() < deadline { usleep(5000) }
        } else if self.config.demoRoomEnabled {
            DemoRoom.create(in: self.rooms)
        }
        Log.info(
            "listening",
            [
                "host": self.config.host, "port": self.port, "loops": self.group.loops.count,
                "scheme": self.config.tls.enabled ? "wss" : "ws", "version": BuildInfo.version,
                "mode": self.cluster.map { "cluster node \($0.node) on \($0.url)" } ?? "single node",
            ])
    }

    /// Creates the data directory if needed and takes its lock: a second process on the same
    /// directory is refused at startup (it would sell the same stock again).
    private static func lockDataDirectory(_ config: ServerConfiguration) throws -> DataDirectoryLock {
        let path = config.dataDirectory
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ConfigurationLoader.Error(key: "data", problem: "cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
        do {
            return try DataDirectoryLock(directory: path)
        } catch {
            throw ConfigurationLoader.Error(key: "data", problem: "\(error)")
        }
    }

    /// The durable store: opened (created) in the data directory, every room and order restored
    /// from it into `directory`, and its writer thread started. Fails startup if it cannot open.
    private static func openJournal(
        _ config: ServerConfiguration, _ directory: RoomDirectory, _ metrics: ServerMetrics,
        _ wrapStore: ((any OrderStore) -> any OrderStore)?
    ) throws -> GroupCommitJournal {
        let path = config.dataDirectory
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ConfigurationLoader.Error(key: "data", problem: "cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
        let sqlite = try SQLiteOrderStore(path: path + "/" + SQLiteOrderStore.fileName, outbox: config.orders.webhookEnabled)
        let store = wrapStore?(sqlite) ?? sqlite
        let now = WallClock.nowMillis()
        var restoredOrders = 0
        for (snapshot, orders) in try store.load() {
            directory.place(Room.restore(snapshot, orders: orders, epoch: directory.epoch, settings: config.rooms.room, now: now))
            restoredOrders += orders.count
        }
        let journal = GroupCommitJournal(store: store)
        journal.onFailure = { error in
            metrics.journalFailures.increment()
            Log.error("journal commit failed; orders in it were refused as unavailable", ["error": error])
        }
        journal.onCommit = { _, seconds in metrics.journalCommitLatency.observe(seconds) }
        journal.start()
        Log.info("store opened", ["path": path + "/" + SQLiteOrderStore.fileName, "rooms": directory.count, "orders": restoredOrders])
        return journal
    }

    /// The outbox's delivery threads (nil without a webhook), reading from `source`.
    private static func startWebhooks(_ config: ServerConfiguration, source: () throws -> any OutboxSource) throws -> WebhookDelivery? {
        guard config.orders.webhookEnabled else { return nil }
        let orders = config.orders
        var settings = WebhookDelivery.Settings(endpoint: try WebhookEndpoint(orders.webhookURL), secret: orders.webhookSecret)
        settings.maxAttempts = orders.webhookMaxAttempts
        settings.retryBase = orders.webhookRetryBase
        settings.retryMax = orders.webhookRetryMax
        settings.timeout = orders.webhookTimeout
        settings.workers = orders.webhookWorkers
        let delivery = try WebhookDelivery(settings: settings, source: try source(), userAgent: "hometown/\(BuildInfo.version)")
        delivery.onParked = { event, error in
            Log.warn("webhook event parked after its last attempt", ["event": event.event, "attempts": event.attempts + 1, "error": error])
        }
        delivery.start()
        Log.info("webhook delivery started", ["url": orders.webhookURL, "parked": delivery.parked.load(ordering: .relaxed)])
        return delivery
    }

    /// Graceful drain (SIGTERM/SIGINT): stop accepting, stop reading requests, let every order
    /// already in the journal commit and its answer reach the buyer, close every WebSocket with
    /// 1001, flush the store, and stop — all within `timeout` seconds. Returns true if everything
    /// finished in time.
    @discardableResult
    public func drain(timeout: Double) -> Bool {
        self.readiness.beginDrain()
        Log.info("draining", ["connections": self.connectionCount, "timeout": timeout])
        // 0. Readiness says 503 while everything else still works, so a load balancer sees it and
        //    takes the node out before anyone is refused (the grace is not part of `timeout`).
        let grace = self.config.effectiveDrainGrace
        if grace > 0 {
            Log.info("drain grace: /readyz is 503, still serving", ["seconds": grace])
            usleep(useconds_t(grace * 1_000_000))
        }
        let deadline = WallClock.nowMillis() + Int64(timeout * 1000)
        func left() -> Double { max(0, Double(deadline - WallClock.nowMillis()) / 1000) }
        // 1. No new connections, no new requests.
        self.onEveryLoop { loop in
            loop.closeListeners()
            loop.forEachConnection { connection in
                if connection.isAccepted { connection.stopReading() }
            }
        }
        // 2. Orders in flight commit, and their answers are queued (the completions run on the
        //    room loops; one more round through every loop makes sure they have).
        var ordersDone = self.journal?.waitUntilIdle(timeout: left()) ?? true
        if let cluster = self.cluster {
            ordersDone = cluster.waitUntilIdle(until: deadline)
            self.onEveryLoop { _ in }
            // Rooms run here are handed back now, so other nodes take them at once rather than
            // after the lease runs out; their members here are told to reconnect elsewhere.
            for handle in self.directory.allHandles {
                handle.loop.execute { self.rooms.giveUp(handle, reason: "node draining", release: true, expected: true) }
            }
            _ = cluster.waitUntilIdle(until: deadline)
        }
        self.onEveryLoop { _ in }
        // 3. Everyone hears we are going away, after whatever was queued for them.
        self.onEveryLoop { loop in
            loop.forEachConnection { connection in
                if let session = connection.handler as? WebSocketSession {
                    session.close(code: WebSocketCloseCode.goingAway.rawValue, reason: "server shutting down")
                } else if connection.isAccepted {
                    connection.closeAfterFlush(timeout: 1_000_000_000)
                }
            }
        }
        self.cluster?.stop()
        let gone = self.waitForConnections(until: deadline)
        let clean = ordersDone && gone
        // 4. Stop the loops (closing whatever is left) and flush the store.
        self.stop()
        Log.info("drained", ["clean": clean])
        return clean
    }

    /// Waits (polling every 10 ms: the connections close on their loops' schedule) until no
    /// connection is open or `deadline` passes. True when none is left.
    private func waitForConnections(until deadline: Int64) -> Bool {
        while self.connectionCount > 0 && WallClock.nowMillis() < deadline { usleep(10_000) }
        return self.connectionCount == 0
    }

    /// Runs `body` on every loop and waits for all of them.
    private func onEveryLoop(_ body: @escaping @Sendable (EventLoop) -> Void) {
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
        self.cluster?.stop()
        self.group.stop()
        // Attempts in flight finish (their outcome is recorded), then the journal commits what
        // the loops and the delivery queued.
        self.webhooks?.stop()
        self.journal?.stop()
        self.dataLock?.release()
    }

    /// Ready to take traffic: not draining, and the store's last commit (if any) succeeded.
    public var isReady: Bool { self.readiness.problem == nil }

    /// Open connections across loops (any thread).
    public var connectionCount: Int { self.group.loops.reduce(0) { $0 + $1.connectionCount } }

    /// The rooms that exist (any thread).
    public var roomCount: Int { self.directory.count }
}
