import BuildInfo
import LiveRoom
import Synchronization
import Transport

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

/// Counters with a label (close reason, refusal code...). Bumped per event — a connection
/// closing, a comment refused — never per delivered message, so a lock is cheap enough.
public final class LabeledCounter: Sendable {
    private let values = LockedValue<[String: Int]>([:])

    public init() {}

    public func increment(_ label: String, by amount: Int = 1) {
        self.values.withLock { $0[label, default: 0] += amount }
    }

    public subscript(_ label: String) -> Int { self.values.withLock { $0[label] ?? 0 } }

    public var snapshot: [String: Int] { self.values.withLock { $0 } }
}

/// A Prometheus histogram with fixed bucket bounds (seconds).
public final class Histogram: Sendable {
    public static let latencyBounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
    let bounds: [Double]
    private struct Tally {
        var counts: [Int]
        var sum = 0.0
        var count = 0
    }
    private let tally: LockedValue<Tally>

    public init(bounds: [Double] = Histogram.latencyBounds) {
        self.bounds = bounds
        self.tally = LockedValue(Tally(counts: Array(repeating: 0, count: bounds.count)))
    }

    public func observe(_ seconds: Double) {
        let index = self.bounds.firstIndex(where: { seconds <= $0 })
        self.tally.withLock { tally in
            if let index { tally.counts[index] += 1 }
            tally.sum += seconds
            tally.count += 1
        }
    }

    public var total: Int { self.tally.withLock { $0.count } }

    func render(_ name: String, help: String, into out: inout String) {
        let (counts, sum, count) = self.tally.withLock { ($0.counts, $0.sum, $0.count) }
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (index, bound) in self.bounds.enumerated() {
            cumulative += counts[index]
            out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
    }
}

/// Everything `/metrics` reports that is not read straight off the loops. Counters count events
/// (a protocol error, a disconnect, a refused comment), never per-delivery work, so their atomic
/// adds and short locks stay off the fan-out path.
public final class ServerMetrics: Sendable {
    public let protocolErrors = Counter()
    public let slowConsumerDisconnects = Counter()
    public let ordersAccepted = Counter()
    /// Orders whose commit failed: stock given back, buyer told `unavailable`.
    public let ordersUnavailable = Counter()
    public let journalFailures = Counter()
    /// Room state changes undone because their save failed.
    public let roomSavesFailed = Counter()
    /// Room messages refused for going over a connection's message budget.
    public let messagesRefused = Counter()
    public let connectionsClosed = LabeledCounter()
    public let commentsAccepted = LabeledCounter()
    public let commentsRefused = LabeledCounter()
    public let ordersRefused = LabeledCounter()
    /// Order changes stored, by outcome: paid, expired, shop, buyer (cancellations), unavailable.
    public let orderChanges = LabeledCounter()
    /// The shop's calls, by HTTP status.
    public let shopCalls = LabeledCounter()
    public let messagesIn = Counter()
    public let messagesOut = Counter()
    public let droppedMessages = Counter()
    public let fanOutLatency = Histogram()
    public let journalCommitLatency = Histogram()
    public let eventLoopLag = Histogram()
    // Cluster mode:
    /// Durable writes to Redis (orders, room state), from sending to the answer.
    public let redisWriteLatency = Histogram()
    /// Member messages this node forwarded to the room's owner on another node.
    public let forwardedCommands = Counter()
    /// Leases acquired, lost (not renewed in time, or fenced) and released.
    public let leaseChanges = LabeledCounter()
    /// Times this node sent its members of a room to reconnect because the owner changed.
    public let roomsMoved = Counter()
    /// Per room: its viewers and the units left in each live sale. Keyed by room, so a room's
    /// tick replaces its own entry (work proportional to its products, not to all rooms').
    struct RoomGauges: Sendable {
        var viewers: Int
        var stockLeft: [(sku: String, left: Int)]
        /// Orders the room holds (accepted and stored): the room knows it, nothing counts it twice.
        var orders: Int
    }
    private let roomGauges = LockedValue<[String: RoomGauges]>([:])

    public init() {}

    /// Counts what a room said a command came to.
    func record(_ outcome: RoomOutcome) {
        switch outcome {
        case .commentAccepted(let shown): self.commentsAccepted.increment(shown ? "true" : "false")
        case .commentRefused(let code): self.commentsRefused.increment(code.rawValue)
        case .orderRefused(let reason): self.ordersRefused.increment(reason)
        }
    }

    /// Latest stock of each live sale and viewers of each room, published by the host loops.
    func publish(room: String, viewers count: Int, liveStock: [(sku: String, left: Int)], orders: Int) {
        self.roomGauges.withLock { $0[room] = RoomGauges(viewers: count, stockLeft: liveStock, orders: orders) }
    }

    /// The room left memory: its gauges go (a closed room has no live sales, no viewers), so
    /// metric labels follow the rooms in memory, not every room ever opened.
    func forget(room: String) {
        self.roomGauges.withLock { _ = $0.removeValue(forKey: room) }
    }

    var gauges: [String: RoomGauges] { self.roomGauges.withLock { $0 } }
}

extension HometownServer {
    /// Prometheus text exposition format (version 0.0.4).
    public func renderMetrics() -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        func labeled(_ key: String, _ values: [String: Int]) -> [(labels: String, value: Int)] {
            values.sorted(by: { $0.key < $1.key }).map { ("{\(key)=\"\(escapeLabel($0.key))\"}", $0.value) }
        }
        let loops = self.group.loops
        func total(_ counter: (LoopCounters) -> Int) -> [(labels: String, value: Int)] {
            [("", loops.reduce(0) { $0 + counter($1.counters) })]
        }
        // The process, under the standard names.
        func single(_ name: String, _ type: String, _ help: String, _ value: Double) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        single("process_resident_memory_bytes", "gauge", "Resident memory.", Double(ProcessStats.residentBytes))
        single("process_open_fds", "gauge", "Open file descriptors.", Double(ProcessStats.openDescriptors))
        single("process_max_fds", "gauge", "The open-file limit.", Double(ProcessStats.descriptorLimits.soft))
        single("process_cpu_seconds_total", "counter", "User and system CPU time.", ProcessStats.cpuSeconds)
        single("process_start_time_seconds", "gauge", "Start time, seconds since 1970.", self.startedAt)
        metric(
            "hometown_build_info", "gauge", "The running build (always 1; the version is the label).",
            [("{version=\"\(BuildInfo.version)\"}", 1)])
        metric("hometown_connections_open", "gauge", "Open TCP connections.", total { $0.connections.load(ordering: .relaxed) })
        metric("hometown_connections_opened_total", "counter", "Connections accepted.", total { $0.accepted.load(ordering: .relaxed) })
        metric(
            "hometown_connections_closed_total", "counter", "Connections closed, by reason (close code or cause).",
            labeled("reason", self.metrics.connectionsClosed.snapshot))
        metric(
            "hometown_accept_backoffs_total", "counter", "Times accepting paused because the process ran out of file descriptors.",
            total { $0.acceptBackoffs.load(ordering: .relaxed) })
        metric(
            "hometown_tls_handshake_failures_total", "counter", "TLS handshakes that failed (each cost only its own socket).",
            total { $0.tlsHandshakeFailures.load(ordering: .relaxed) })
        metric("hometown_rooms", "gauge", "Rooms hosted.", [("", self.directory.count)])
        let gauges = self.metrics.gauges
        metric("hometown_viewers", "gauge", "Distinct viewers per room.", labeled("room", gauges.mapValues(\.viewers)))
        metric(
            "hometown_room_orders_total", "counter", "Orders each room in memory holds (accepted and stored).",
            labeled("room", gauges.mapValues(\.orders)))
        metric("hometown_messages_in_total", "counter", "WebSocket messages received.", [("", self.metrics.messagesIn.value)])
        metric(
            "hometown_messages_out_total", "counter", "Room messages queued to connections (a broadcast counts once per receiver).",
            [("", self.metrics.messagesOut.value)])
        metric("hometown_bytes_in_total", "counter", "Bytes read from sockets.", total { $0.bytesIn.load(ordering: .relaxed) })
        metric("hometown_bytes_out_total", "counter", "Bytes written to sockets.", total { $0.bytesOut.load(ordering: .relaxed) })
        metric(
            "hometown_comments_accepted_total", "counter", "Comments accepted, by whether the room was shown them.",
            labeled("shown", self.metrics.commentsAccepted.snapshot))
        metric(
            "hometown_comments_refused_total", "counter", "Comments refused, by error code.",
            labeled("reason", self.metrics.commentsRefused.snapshot))
        metric(
            "hometown_orders_accepted_total", "counter", "Orders accepted (durably stored, then acknowledged).",
            [("", self.metrics.ordersAccepted.value)])
        metric(
            "hometown_orders_refused_total", "counter", "Orders refused, by status.",
            labeled(
                "status",
                self.metrics.ordersRefused.snapshot.merging(["unavailable": self.metrics.ordersUnavailable.value], uniquingKeysWith: +)))
        let stock = gauges.sorted(by: { $0.key < $1.key }).flatMap { room, gauges in
            gauges.stockLeft.sorted(by: { $0.sku < $1.sku }).map { sale -> (labels: String, value: Int) in
                ("{room=\"\(escapeLabel(room))\",sku=\"\(escapeLabel(sale.sku))\"}", sale.left)
            }
        }
        metric("hometown_sale_stock_left", "gauge", "Units left in each live sale.", stock)
        metric(
            "hometown_slow_consumer_disconnects_total", "counter", "Connections closed (4008) for not reading fast enough.",
            [("", self.metrics.slowConsumerDisconnects.value)])
        metric(
            "hometown_slow_consumer_drops_total", "counter", "Droppable messages skipped for connections that were behind.",
            [("", self.metrics.droppedMessages.value)])
        metric(
            "hometown_protocol_errors_total", "counter", "Connections failed for breaking RFC 6455.",
            [("", self.metrics.protocolErrors.value)])
        metric(
            "hometown_room_saves_failed_total", "counter", "Room state changes undone because the store could not save them.",
            [("", self.metrics.roomSavesFailed.value)])
        metric(
            "hometown_messages_refused_total", "counter", "Room messages refused for going over their connection's message budget.",
            [("", self.metrics.messagesRefused.value)])
        metric(
            "hometown_order_changes_total", "counter",
            "Order changes stored: paid, or cancelled by reason (expired, shop, buyer); unavailable when not stored.",
            labeled("change", self.metrics.orderChanges.snapshot))
        metric(
            "hometown_shop_calls_total", "counter", "The shop's paid/cancel calls, by HTTP status.",
            labeled("status", self.metrics.shopCalls.snapshot))
        if let webhooks = self.webhooks {
            let waiting = webhooks.waiting
            metric(
                "hometown_webhook_deliveries_total", "counter", "Webhook attempts: delivered (2xx), failed (retried), parked.",
                [
                    ("{result=\"delivered\"}", webhooks.delivered.load(ordering: .relaxed)),
                    ("{result=\"failed\"}", webhooks.failedAttempts.load(ordering: .relaxed)),
                    ("{result=\"parked\"}", webhooks.parkedTotal.load(ordering: .relaxed)),
                ])
            metric("hometown_webhook_waiting", "gauge", "Webhook events waiting for delivery (in memory).", [("", waiting.count)])
            metric(
                "hometown_webhook_parked", "gauge", "Webhook events parked after their last attempt, waiting for an operator.",
                [("", webhooks.parked.load(ordering: .relaxed))])
            let age = waiting.oldest.map { max(0, WallClock.nowMillis() - $0) / 1000 } ?? 0
            metric("hometown_webhook_oldest_waiting_seconds", "gauge", "Age of the oldest event waiting for delivery.", [("", Int(age))])
        }
        metric("hometown_journal_failures_total", "counter", "Journal commits that failed.", [("", self.metrics.journalFailures.value)])
        self.metrics.fanOutLatency.render(
            "hometown_fanout_latency_seconds", help: "From a room event's encoding to its queueing on each loop's audience.", into: &out)
        self.metrics.journalCommitLatency.render(
            "hometown_journal_commit_seconds", help: "Duration of each group commit (transaction and fsync).", into: &out)
        self.metrics.eventLoopLag.render("hometown_event_loop_lag_seconds", help: "How late each event loop's 100 ms tick ran.", into: &out)
        if self.cluster != nil {
            self.metrics.redisWriteLatency.render(
                "hometown_redis_write_seconds", help: "Fenced durable writes to Redis, from sending to the answer.", into: &out)
            metric(
                "hometown_forwarded_commands_total", "counter", "Member messages forwarded to the room's owner on another node.",
                [("", self.metrics.forwardedCommands.value)])
            metric(
                "hometown_lease_changes_total", "counter", "Room leases acquired, lost and released by this node.",
                labeled("change", self.metrics.leaseChanges.snapshot))
            metric(
                "hometown_rooms_moved_total", "counter",
                "Times this node's members of a room were sent to reconnect after an owner change.",
                [("", self.metrics.roomsMoved.value)])
        }
        return out
    }
}

func escapeLabel(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.append(character)
        }
    }
    return out
}
