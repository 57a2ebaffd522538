import Auth
import Glibc
import OrderJournal
import Synchronization
import Transport

/// Delivers the webhook outbox (docs/ORDERS.md): every order event at least once to the shop's
/// endpoint, in order per room, signed, retried with exponential backoff and jitter, parked after
/// `maxAttempts`. Threads of its own: a slow or dead shop never holds an event loop or the journal.
///
/// Per room one event is in flight at a time and the next waits for it (order); rooms are
/// delivered side by side by `workers` threads. Events come from an `OutboxSource` in `seq`
/// order; what the delivery learns — delivered, failed with its next time, parked — goes back to
/// it (on a single node through the journal, its one writer, so attempts and parking survive a
/// restart; in a cluster to the room's Redis lists).
///
/// `@unchecked Sendable`: the queues and counts are touched only under `mutex`; the source's
/// `load` only by the thread that holds `loading`.
public final class WebhookDelivery: @unchecked Sendable {
    public struct Settings: Sendable {
        public var endpoint: WebhookEndpoint
        public var secret: String
        /// Attempts before an event is parked.
        public var maxAttempts = 12
        /// Seconds: the first retry's delay, doubling up to `retryMax`.
        public var retryBase = 1.0
        public var retryMax = 300.0
        /// Seconds one attempt may take (connect, send, status line).
        public var timeout = 10.0
        public var workers = 4

        public init(endpoint: WebhookEndpoint, secret: String) {
            self.endpoint = endpoint
            self.secret = secret
        }
    }

    /// Events held in memory at most; more wait in the store and are read as these go out.
    static let maxLoaded = 10_000

    private let settings: Settings
    private let source: any OutboxSource
    private let userAgent: String
    private var loadedAt: Int64 = 0
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var queues: [String: RoomQueue] = [:]
    private var busy: Set<String> = []
    private var loaded = 0
    private var cursor: Int64 = 0
    private var needsLoad = true
    private var loading = false
    private var stopping = false
    private var threads: [pthread_t] = []
    private var random = SystemRandomNumberGenerator()

    /// Called (on a delivery thread, under the delivery's lock: keep it short) when an event is
    /// parked. Set before `start()`.
    public var onParked: ((OutboxEvent, String) -> Void)?

    public let delivered = Atomic<Int>(0)
    public let failedAttempts = Atomic<Int>(0)
    public let parkedTotal = Atomic<Int>(0)
    /// Parked events in the store (read at start, then kept up to date).
    public let parked = Atomic<Int>(0)

    /// Events of one room, oldest first (`head` is the next to deliver).
    private struct RoomQueue {
        var events: [OutboxEvent] = []
        var head = 0
        var first: OutboxEvent? { self.head < self.events.count ? self.events[self.head] : nil }
        var count: Int { self.events.count - self.head }
        mutating func removeFirst() {
            self.head += 1
            if self.head > 64 && self.head * 2 > self.events.count {
                self.events.removeFirst(self.head)
                self.head = 0
            }
        }
    }

    public init(settings: Settings, source: any OutboxSource, userAgent: String) throws {
        self.settings = settings
        self.source = source
        self.userAgent = userAgent
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.condition, nil)
        self.parked.store(try source.parkedCount(), ordering: .relaxed)
    }

    public func start() {
        let started = (0..<max(1, self.settings.workers)).map { _ in Threads.start { self.work() } }
        pthread_mutex_lock(&self.mutex)
        self.threads = started
        pthread_mutex_unlock(&self.mutex)
    }

    /// Stops the threads after their attempts in flight (what is left is delivered after a restart).
    /// Safe to call more than once, from several threads at once: each thread is joined once.
    public func stop() {
        pthread_mutex_lock(&self.mutex)
        self.stopping = true
        pthread_cond_broadcast(&self.condition)
        let threads = self.threads
        self.threads = []
        pthread_mutex_unlock(&self.mutex)
        for thread in threads { pthread_join(thread, nil) }
    }

    /// New events were committed (the journal's `afterOrders`).
    public func wake() {
        pthread_mutex_lock(&self.mutex)
        self.needsLoad = true
        pthread_cond_signal(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    /// Events waiting in memory, and when the oldest of them was made (ms; nil when none).
    public var waiting: (count: Int, oldest: Int64?) {
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        return (self.loaded, self.queues.values.compactMap { $0.first?.createdAt }.min())
    }

    /// Parked events go back in line (attempts from 0), once that is stored.
    public func replay(_ events: [OutboxEvent]) {
        for event in events where event.parked {
            self.source.replay(event) { stored in
                guard stored else { return }
                var fresh = event
                fresh.attempts = 0
                fresh.nextAt = 0
                fresh.parked = false
                fresh.lastError = nil
                pthread_mutex_lock(&self.mutex)
                self.enqueue(fresh)
                _ = self.parked.wrappingSubtract(1, ordering: .relaxed)
                pthread_cond_broadcast(&self.condition)
                pthread_mutex_unlock(&self.mutex)
            }
        }
    }

    /// Under the mutex: into its room's queue, in seq order among the waiting ones, never ahead
    /// of an attempt in flight.
    private func enqueue(_ event: OutboxEvent) {
        var queue = self.queues[event.room] ?? RoomQueue()
        let floor = queue.head + (self.busy.contains(event.room) ? 1 : 0)
        var at = queue.events.count
        while at > floor && queue.events[at - 1].seq > event.seq { at -= 1 }
        queue.events.insert(event, at: at)
        self.queues[event.room] = queue
        self.loaded += 1
    }

    // MARK: - Worker threads

    private func work() {
        pthread_mutex_lock(&self.mutex)
        while !self.stopping {
            if let interval = self.source.pollInterval, WallClock.nowMillis() - self.loadedAt >= Int64(interval * 1000) {
                self.needsLoad = true
            }
            if self.needsLoad && !self.loading && self.loaded < Self.maxLoaded / 2 {
                self.load()
                continue
            }
            let now = WallClock.nowMillis()
            var next: (room: String, event: OutboxEvent)?
            var earliest = Int64.max
            for (room, queue) in self.queues where !self.busy.contains(room) {
                guard let first = queue.first else { continue }
                if first.nextAt <= now {
                    if next == nil || first.seq < next!.event.seq { next = (room, first) }
                } else {
                    earliest = min(earliest, first.nextAt)
                }
            }
            guard let (room, event) = next else {
                self.wait(untilMillis: earliest)
                continue
            }
            guard self.source.delivers(room) else {
                // The room runs elsewhere now: its owner delivers what is left.
                self.loaded -= self.queues[room]?.count ?? 0
                self.queues[room] = nil
                continue
            }
            self.busy.insert(room)
            pthread_mutex_unlock(&self.mutex)
            let outcome = self.attempt(event)
            pthread_mutex_lock(&self.mutex)
            self.busy.remove(room)
            let change = self.finish(event, room: room, outcome)
            pthread_cond_broadcast(&self.condition)
            // Recorded outside the lock: a source may do I/O (Redis), and `wake()` — called from
            // event loops — must never wait behind it.
            pthread_mutex_unlock(&self.mutex)
            if let change { self.source.record(change, of: event) }
            pthread_mutex_lock(&self.mutex)
        }
        pthread_mutex_unlock(&self.mutex)
    }

    /// Under the mutex; releases it while reading.
    private func load() {
        self.loading = true
        self.needsLoad = false
        self.loadedAt = WallClock.nowMillis()
        let after = self.cursor
        let limit = Self.maxLoaded - self.loaded
        pthread_mutex_unlock(&self.mutex)
        let events = (try? self.source.load(after: after, limit: limit)) ?? []
        pthread_mutex_lock(&self.mutex)
        self.loading = false
        for event in events {
            self.enqueue(event)
            self.cursor = max(self.cursor, event.seq)
        }
        // A full page means more is waiting in the store.
        if events.count == limit { self.needsLoad = true }
    }

    /// Sleeps until an event's retry time (at most a second), or until woken.
    private func wait(untilMillis deadline: Int64) {
        // The condition waits on CLOCK_REALTIME (the default), the clock of `nextAt`.
        let wake = min(deadline, WallClock.nowMillis() + 1000)
        var time = timespec(tv_sec: Int(wake / 1000), tv_nsec: Int(wake % 1000) * 1_000_000)
        _ = pthread_cond_timedwait(&self.condition, &self.mutex, &time)
    }

    private enum Outcome {
        case delivered
        case failed(String)
    }

    private func attempt(_ event: OutboxEvent) -> Outcome {
        let body = event.body
        let signature = WebhookSignature.sign(body: body, secret: self.settings.secret, timestamp: WallClock.nowMillis() / 1000)
        let headers = [
            ("User-Agent", self.userAgent), ("Hometown-Event", event.event), ("Hometown-Attempt", String(event.attempts + 1)),
            (WebhookSignature.header, signature),
        ]
        switch HTTPPost.send(to: self.settings.endpoint, headers: headers, body: body, timeout: self.settings.timeout) {
        case .success(let status) where (200..<300).contains(status):
            return .delivered
        case .success(let status):
            return .failed("HTTP \(status)")
        case .failure(let reason):
            return .failed(reason.description)
        }
    }

    /// Under the mutex: the queue moves on; what to record is returned.
    private func finish(_ event: OutboxEvent, room: String, _ outcome: Outcome) -> OutboxChange? {
        guard var queue = self.queues[room], queue.first?.seq == event.seq else { return nil }
        let change: OutboxChange
        switch outcome {
        case .delivered:
            queue.removeFirst()
            self.loaded -= 1
            self.delivered.wrappingAdd(1, ordering: .relaxed)
            change = .delivered(seq: event.seq)
        case .failed(let reason):
            self.failedAttempts.wrappingAdd(1, ordering: .relaxed)
            let attempts = event.attempts + 1
            if attempts >= self.settings.maxAttempts {
                queue.removeFirst()
                self.loaded -= 1
                self.parkedTotal.wrappingAdd(1, ordering: .relaxed)
                self.parked.wrappingAdd(1, ordering: .relaxed)
                change = .parked(seq: event.seq, attempts: attempts, error: reason)
                self.onParked?(event, reason)
            } else {
                let delay = Backoff.delay(
                    attempt: attempts - 1, base: UInt64(self.settings.retryBase * 1000), max: UInt64(self.settings.retryMax * 1000),
                    using: &self.random)
                var next = event
                next.attempts = attempts
                next.nextAt = WallClock.nowMillis() + Int64(delay)
                next.lastError = reason
                queue.events[queue.head] = next
                change = .failed(seq: event.seq, attempts: attempts, nextAt: next.nextAt, error: reason)
            }
        }
        self.queues[room] = queue.count == 0 ? nil : queue
        return change
    }
}
