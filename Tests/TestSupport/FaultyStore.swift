import Glibc
import LiveRoom
import OrderJournal

/// A store that fails every commit while `failing` is set, as a full disk or an I/O error would,
/// and holds every commit while `held` is set, as a slow disk would (the writer thread waits).
/// `@unchecked Sendable`: its flags are touched only under its mutex.
public final class FaultyStore: OrderStore, @unchecked Sendable {
    public let inner: any OrderStore
    private var mutex = pthread_mutex_t()
    private var released = pthread_cond_t()
    private var failingFlag = false
    private var heldFlag = false
    private var waitingCommits = 0

    public struct InjectedFailure: Error, CustomStringConvertible {
        public var description: String { "injected write failure" }
    }

    public init(_ inner: any OrderStore) {
        self.inner = inner
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.released, nil)
    }

    /// While true, commits wait (on the journal's writer thread) until it is set back to false.
    public var held: Bool {
        get {
            pthread_mutex_lock(&self.mutex)
            defer { pthread_mutex_unlock(&self.mutex) }
            return self.heldFlag
        }
        set {
            pthread_mutex_lock(&self.mutex)
            self.heldFlag = newValue
            pthread_cond_broadcast(&self.released)
            pthread_mutex_unlock(&self.mutex)
        }
    }

    /// Commits waiting because the store is held.
    public var heldCommits: Int {
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        return self.waitingCommits
    }

    public var failing: Bool {
        get {
            pthread_mutex_lock(&self.mutex)
            defer { pthread_mutex_unlock(&self.mutex) }
            return self.failingFlag
        }
        set {
            pthread_mutex_lock(&self.mutex)
            self.failingFlag = newValue
            pthread_mutex_unlock(&self.mutex)
        }
    }

    public func commit(orders: [Order], rooms: [RoomSnapshot], outbox: [OutboxChange]) throws {
        pthread_mutex_lock(&self.mutex)
        self.waitingCommits += 1
        while self.heldFlag { pthread_cond_wait(&self.released, &self.mutex) }
        self.waitingCommits -= 1
        pthread_mutex_unlock(&self.mutex)
        if self.failing { throw InjectedFailure() }
        try self.inner.commit(orders: orders, rooms: rooms, outbox: outbox)
    }

    public func load() throws -> [(room: RoomSnapshot, orders: [Order])] { try self.inner.load() }

    public func orders(room: String, after: String?, limit: Int) throws -> [Order] {
        try self.inner.orders(room: room, after: after, limit: limit)
    }
}

/// A fresh directory under /tmp.
public func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/hometown-test-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}
