import Glibc
import LiveRoom
import OrderJournal

/// A store that fails every commit while `failing` is set, as a full disk or an I/O error would.
public final class FaultyStore: OrderStore, @unchecked Sendable {
    public let inner: any OrderStore
    private var mutex = pthread_mutex_t()
    private var failingFlag = false

    public struct InjectedFailure: Error, CustomStringConvertible {
        public var description: String { "injected write failure" }
    }

    public init(_ inner: any OrderStore) {
        self.inner = inner
        pthread_mutex_init(&self.mutex, nil)
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

    public func commit(orders: [Order], rooms: [RoomSnapshot]) throws {
        if self.failing { throw InjectedFailure() }
        try self.inner.commit(orders: orders, rooms: rooms)
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
