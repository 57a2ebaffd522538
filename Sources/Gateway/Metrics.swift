import Synchronization
import Transport

/// Counters with a label (close reason, refusal code...). Bumped per event — a connection
/// closing, a comment refused — never per delivered message, so a lock is cheap enough.
public final class LabeledCounter: @unchecked Sendable {
    private let lock = Lock()
    private var values: [String: Int] = [:]

    public init() {}

    public func increment(_ label: String, by amount: Int = 1) {
        self.lock.withLock { self.values[label, default: 0] += amount }
    }

    public subscript(_ label: String) -> Int { self.lock.withLock { self.values[label] ?? 0 } }

    public var snapshot: [String: Int] { self.lock.withLock { self.values } }
}

/// A Prometheus histogram with fixed bucket bounds (seconds).
public final class Histogram: @unchecked Sendable {
    public static let latencyBounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
    let bounds: [Double]
    private let lock = Lock()
    private var counts: [Int]
    private var sum = 0.0
    private var count = 0

    public init(bounds: [Double] = Histogram.latencyBounds) {
        self.bounds = bounds
        self.counts = Array(repeating: 0, count: bounds.count)
    }

    public func observe(_ seconds: Double) {
        self.lock.withLock {
            if let index = self.bounds.firstIndex(where: { seconds <= $0 }) { self.counts[index] += 1 }
            self.sum += seconds
            self.count += 1
        }
    }

    public var total: Int { self.lock.withLock { self.count } }

    func render(_ name: String, help: String, into out: inout String) {
        let (counts, sum, count) = self.lock.withLock { (self.counts, self.sum, self.count) }
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (index, bound) in self.bounds.enumerated() {
            cumulative += counts[index]
            out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
    }
}

/// Everything `/metrics` reports that is not read straight off the loops.
public final class ServerMetrics: @unchecked Sendable {
    public let connectionsClosed = LabeledCounter()
    public let commentsAccepted = LabeledCounter()
    public let commentsRefused = LabeledCounter()
    public let ordersRefused = LabeledCounter()
    public let messagesIn = Counter()
    public let messagesOut = Counter()
    public let droppedMessages = Counter()
    public let fanOutLatency = Histogram()
    public let journalCommitLatency = Histogram()
    public let eventLoopLag = Histogram()
    private let gaugeLock = Lock()
    private var stockLeft: [String: Int] = [:]
    private var viewers: [String: Int] = [:]

    public init() {}

    /// Latest stock of each live sale and viewers of each room, published by the host loops.
    func publish(room: String, viewers count: Int, liveStock: [(sku: String, left: Int)]) {
        self.gaugeLock.withLock {
            self.viewers[room] = count
            self.stockLeft = self.stockLeft.filter { !$0.key.hasPrefix(room + "\u{0}") }
            for (sku, left) in liveStock { self.stockLeft[room + "\u{0}" + sku] = left }
        }
    }

    var gauges: (viewers: [String: Int], stock: [String: Int]) { self.gaugeLock.withLock { (self.viewers, self.stockLeft) } }
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
        metric("hometown_connections_open", "gauge", "Open TCP connections.", [("", loops.reduce(0) { $0 + $1.connectionCount })])
        metric("hometown_connections_opened_total", "counter", "Connections accepted.", [("", loops.reduce(0) { $0 + $1.acceptedTotal })])
        metric(
            "hometown_connections_closed_total", "counter", "Connections closed, by reason (close code or cause).",
            labeled("reason", self.metrics.connectionsClosed.snapshot))
        metric(
            "hometown_accept_backoffs_total", "counter", "Times accepting paused because the process ran out of file descriptors.",
            [("", loops.reduce(0) { $0 + $1.acceptBackoffs })])
        metric(
            "hometown_tls_handshake_failures_total", "counter", "TLS handshakes that failed (each cost only its own socket).",
            [("", loops.reduce(0) { $0 + $1.tlsHandshakeFailures })])
        metric("hometown_rooms", "gauge", "Rooms hosted.", [("", self.rooms.roomCount)])
        let gauges = self.metrics.gauges
        metric("hometown_viewers", "gauge", "Distinct viewers per room.", labeled("room", gauges.viewers))
        metric("hometown_messages_in_total", "counter", "WebSocket messages received.", [("", self.metrics.messagesIn.value)])
        metric(
            "hometown_messages_out_total", "counter", "Room messages queued to connections (a broadcast counts once per receiver).",
            [("", self.metrics.messagesOut.value)])
        metric("hometown_bytes_in_total", "counter", "Bytes read from sockets.", [("", loops.reduce(0) { $0 + $1.bytesIn })])
        metric("hometown_bytes_out_total", "counter", "Bytes written to sockets.", [("", loops.reduce(0) { $0 + $1.bytesOut })])
        metric(
            "hometown_comments_accepted_total", "counter", "Comments accepted, by whether the room was shown them.",
            labeled("shown", self.metrics.commentsAccepted.snapshot))
        metric(
            "hometown_comments_refused_total", "counter", "Comments refused, by error code.",
            labeled("reason", self.metrics.commentsRefused.snapshot))
        metric(
            "hometown_orders_accepted_total", "counter", "Orders accepted (durably stored, then acknowledged).",
            [("", self.counters.ordersAccepted.value)])
        metric(
            "hometown_orders_refused_total", "counter", "Orders refused, by status.",
            labeled(
                "status",
                self.metrics.ordersRefused.snapshot.merging(["unavailable": self.counters.ordersUnavailable.value], uniquingKeysWith: +)))
        let stock = gauges.stock.sorted(by: { $0.key < $1.key }).map { entry -> (labels: String, value: Int) in
            let parts = entry.key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            return ("{room=\"\(escapeLabel(parts[0]))\",sku=\"\(escapeLabel(parts.count > 1 ? parts[1] : ""))\"}", entry.value)
        }
        metric("hometown_sale_stock_left", "gauge", "Units left in each live sale.", stock)
        metric(
            "hometown_slow_consumer_disconnects_total", "counter", "Connections closed (4008) for not reading fast enough.",
            [("", self.counters.slowConsumerDisconnects.value)])
        metric(
            "hometown_slow_consumer_drops_total", "counter", "Droppable messages skipped for connections that were behind.",
            [("", self.droppedMessages())])
        metric(
            "hometown_protocol_errors_total", "counter", "Connections failed for breaking RFC 6455.",
            [("", self.counters.protocolErrors.value)])
        metric("hometown_journal_failures_total", "counter", "Journal commits that failed.", [("", self.counters.journalFailures.value)])
        self.metrics.fanOutLatency.render(
            "hometown_fanout_latency_seconds", help: "From a room event's encoding to its queueing on each loop's audience.", into: &out)
        self.metrics.journalCommitLatency.render(
            "hometown_journal_commit_seconds", help: "Duration of each group commit (transaction and fsync).", into: &out)
        self.metrics.eventLoopLag.render("hometown_event_loop_lag_seconds", help: "How late each event loop's 100 ms tick ran.", into: &out)
        return out
    }

    private func droppedMessages() -> Int { self.metrics.droppedMessages.value }
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
