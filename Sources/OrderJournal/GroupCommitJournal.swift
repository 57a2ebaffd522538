import Glibc
import LiveRoom
import Synchronization
import Transport

/// The order journal's writer: one thread that takes everything submitted since its last commit
/// and stores it in one transaction with one fsync. While a commit is in flight, new orders
/// gather for the next one, so the cost of durability is shared by every order of a busy moment
/// (group commit). Completions say whether the order is durable.
///
/// `@unchecked Sendable`: the queues and flags are read and written only under `mutex`, the store
/// only by the writer thread, `lastCommitFailed` is atomic, and `onFailure`/`onCommit` are set
/// before `start()` (the thread's creation orders them before the writer reads them).
public final class GroupCommitJournal: @unchecked Sendable {
    public typealias Completion = @Sendable (Bool) -> Void

    private let store: any OrderStore
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var orders: [(Order, Completion)] = []
    private var rooms: [String: RoomSnapshot] = [:]
    private var roomCompletions: [Completion] = []
    private var outbox: [(OutboxChange, Completion?)] = []
    private var stopping = false
    /// A batch is being committed right now.
    private var committing = false
    private let lastCommitFailed = Atomic<Bool>(false)
    /// False after a commit failed, true again after one succeeds (readiness).
    public var isHealthy: Bool { !self.lastCommitFailed.load(ordering: .relaxed) }
    private var thread: pthread_t?
    /// Called (on the writer thread) when a commit fails, with the error.
    public var onFailure: ((any Error) -> Void)?
    /// Called after each commit with the batch size and its duration in seconds (metrics, benchmarks).
    public var onCommit: ((Int, Double) -> Void)?
    /// Called after a commit that stored orders or order changes (the webhook delivery looks
    /// for new outbox events).
    public var afterOrders: (() -> Void)?

    public init(store: any OrderStore) {
        self.store = store
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.condition, nil)
    }

    public func start() {
        let thread = Threads.start { self.run() }
        pthread_mutex_lock(&self.mutex)
        self.thread = thread
        pthread_mutex_unlock(&self.mutex)
    }

    /// Queues an order; `completion` runs on the writer thread once it is durable (true) or the
    /// commit failed (false). Any thread.
    public func submit(_ order: Order, completion: @escaping Completion) {
        pthread_mutex_lock(&self.mutex)
        self.orders.append((order, completion))
        pthread_cond_signal(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    /// Queues the latest state of a room (later snapshots of the same room replace earlier ones);
    /// `completion` runs on the writer thread once it is committed (or failed).
    public func save(_ room: RoomSnapshot, completion: Completion? = nil) {
        pthread_mutex_lock(&self.mutex)
        self.rooms[room.id] = room
        if let completion { self.roomCompletions.append(completion) }
        pthread_cond_signal(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    /// Queues what the webhook delivery learned about an outbox event, for the next transaction.
    public func record(_ change: OutboxChange, completion: Completion? = nil) {
        pthread_mutex_lock(&self.mutex)
        self.outbox.append((change, completion))
        pthread_cond_signal(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    /// Waits (polling, at most `timeout` seconds) until nothing is queued or being committed:
    /// every order submitted so far has its answer. Returns false on timeout.
    public func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        while MonotonicClock.seconds() < deadline {
            pthread_mutex_lock(&self.mutex)
            let idle = self.orders.isEmpty && self.rooms.isEmpty && self.outbox.isEmpty && !self.committing
            pthread_mutex_unlock(&self.mutex)
            if idle { return true }
            usleep(2000)
        }
        return false
    }

    /// Commits what is queued and stops the writer (graceful shutdown).
    /// Safe to call more than once and from several threads at once (a drain and a shutdown):
    /// the writer is joined by exactly one of them.
    public func stop() {
        pthread_mutex_lock(&self.mutex)
        self.stopping = true
        pthread_cond_signal(&self.condition)
        let thread = self.thread
        self.thread = nil
        pthread_mutex_unlock(&self.mutex)
        if let thread { pthread_join(thread, nil) }
    }

    private func run() {
        while true {
            pthread_mutex_lock(&self.mutex)
            while self.orders.isEmpty && self.rooms.isEmpty && self.outbox.isEmpty && !self.stopping {
                pthread_cond_wait(&self.condition, &self.mutex)
            }
            let batch = self.orders
            let rooms = Array(self.rooms.values)
            let roomCompletions = self.roomCompletions
            let outbox = self.outbox
            let stop = self.stopping && batch.isEmpty && rooms.isEmpty && outbox.isEmpty
            self.orders = []
            self.rooms = [:]
            self.roomCompletions = []
            self.outbox = []
            self.committing = !stop
            pthread_mutex_unlock(&self.mutex)
            if stop { return }
            let started = MonotonicClock.seconds()
            do {
                try self.store.commit(orders: batch.map(\.0), rooms: rooms, outbox: outbox.map(\.0))
                self.lastCommitFailed.store(false, ordering: .relaxed)
                self.onCommit?(batch.count, MonotonicClock.seconds() - started)
                for (_, completion) in batch { completion(true) }
                for completion in roomCompletions { completion(true) }
                for case (_, let completion?) in outbox { completion(true) }
                if !batch.isEmpty { self.afterOrders?() }
                self.finishedBatch()
            } catch {
                self.lastCommitFailed.store(true, ordering: .relaxed)
                self.onFailure?(error)
                self.isolate(batch, rooms: rooms, roomCompletions: roomCompletions, outbox: outbox)
                self.finishedBatch()
            }
        }
    }

    /// A group failed: commit its parts one by one, so that one bad order (or a transient error)
    /// does not turn a whole stampede's worth of good orders into `unavailable`. Each part that
    /// still fails is reported as not durable.
    private func isolate(
        _ batch: [(Order, Completion)], rooms: [RoomSnapshot], roomCompletions: [Completion], outbox: [(OutboxChange, Completion?)]
    ) {
        // What the delivery learned is retried as a whole: losing it only means a redelivery.
        var outboxOK = outbox.isEmpty
        if !outbox.isEmpty {
            do {
                try self.store.commit(orders: [], rooms: [], outbox: outbox.map(\.0))
                outboxOK = true
            } catch { self.onFailure?(error) }
        }
        for case (_, let completion?) in outbox { completion(outboxOK) }
        guard batch.count + rooms.count > 1 else {
            for (_, completion) in batch { completion(false) }
            for completion in roomCompletions { completion(false) }
            return
        }
        var roomsOK = true
        do { try self.store.commit(orders: [], rooms: rooms) } catch {
            roomsOK = false
            self.onFailure?(error)
        }
        for completion in roomCompletions { completion(roomsOK) }
        var stored = false
        defer { if stored { self.afterOrders?() } }
        for (order, completion) in batch {
            do {
                try self.store.commit(orders: [order], rooms: [])
                stored = true
                completion(true)
            } catch {
                self.onFailure?(error)
                completion(false)
            }
        }
    }

    private func finishedBatch() {
        pthread_mutex_lock(&self.mutex)
        self.committing = false
        pthread_mutex_unlock(&self.mutex)
    }
}
