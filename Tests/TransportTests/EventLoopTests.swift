import Foundation
import Glibc
import TestSupport
import Testing
import Transport

/// Records what the loop tells it; every call arrives on the loop thread.
final class RecordingHandler: ConnectionHandler, @unchecked Sendable {
    let lock = NSLock()
    var received: [UInt8] = []
    var overflowed = 0
    var closed = false
    var echo = false

    func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer) {
        lock.withLock { received += bytes }
        if echo { connection.enqueue(Array(bytes)) }
    }
    func connectionOverflowed(_ connection: Connection) {
        lock.withLock { overflowed += 1 }
        connection.abort()
    }
    func connectionTick(_ connection: Connection, now: UInt64) {}
    func connectionClosed(_ connection: Connection) { lock.withLock { closed = true } }
}

func socketPair() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
    precondition(result == 0)
    return (fds[0], fds[1])
}

@Suite("EventLoop over socketpairs, on real threads", .serialized)
struct EventLoopTests {
    @Test func executeFromManyThreadsRunsEveryTaskOnTheLoop() throws {
        let loop = try EventLoop()
        loop.start()
        defer { loop.stop(); loop.join() }
        let counter = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 {
                loop.execute {
                    precondition(loop.inLoop)
                    counter.add()
                }
            }
        }
        #expect(eventually { counter.value == 8000 })
    }

    @Test func bytesInAndOutThroughAnAdoptedSocket() throws {
        let loop = try EventLoop()
        let handler = RecordingHandler()
        handler.echo = true
        loop.acceptHandler = { _ in handler }
        loop.start()
        defer { loop.stop(); loop.join() }
        let (ours, theirs) = socketPair()
        _ = fcntl(ours, F_SETFL, O_NONBLOCK)
        loop.execute { loop.adopt(fd: ours) }
        let message = Array("hello loop".utf8)
        _ = message.withUnsafeBytes { write(theirs, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(theirs, $0.baseAddress, $0.count) }
        #expect(Array(buffer[0..<max(0, count)]) == message)
        // Closed exactly once: tests share the process, and a second close could hit a
        // descriptor another test has opened since (this hung a server's wake-up once).
        close(theirs)
        #expect(eventually { handler.lock.withLock { handler.closed } })
    }

    @Test func aPeerThatNeverReadsHitsTheHardLimit() throws {
        let loop = try EventLoop()
        loop.defaultLimits = OutboundLimits(lowWaterMark: 1024, highWaterMark: 4096, hardLimit: 64 * 1024)
        let handler = RecordingHandler()
        loop.acceptHandler = { _ in handler }
        loop.start()
        defer { loop.stop(); loop.join() }
        let (ours, theirs) = socketPair()
        defer { close(theirs) }
        _ = fcntl(ours, F_SETFL, O_NONBLOCK)
        let chunk = SharedBytes([UInt8](repeating: 7, count: 4096))
        let dropped = LockedCounter()
        loop.execute {
            let connection = loop.adopt(fd: ours)
            // Far more than the socket buffer plus the hard limit; droppable ones are dropped first.
            for index in 0..<2000 {
                if !connection.enqueue(chunk, droppable: index % 2 == 0) { dropped.add() }
            }
        }
        #expect(eventually { handler.lock.withLock { handler.overflowed } >= 1 })
        #expect(eventually { handler.lock.withLock { handler.closed } })
        #expect(dropped.value > 0)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
