import Glibc
import Testing

@testable import Transport

@Suite("OutboundQueue bookkeeping")
struct OutboundQueueTests {
    func bytes(_ values: [UInt8]) -> SharedBytes { SharedBytes(values) }

    func drain(_ queue: OutboundQueue) -> [UInt8] {
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: 16)
        defer { iovecs.deallocate() }
        let count = queue.fill(iovecs, max: 16)
        var out: [UInt8] = []
        for index in 0..<count {
            out += UnsafeRawBufferPointer(start: iovecs[index].iov_base, count: iovecs[index].iov_len)
        }
        return out
    }

    @Test func partialWritesResumeMidEntry() {
        var queue = OutboundQueue()
        queue.append(bytes([1, 2, 3]))
        queue.append(bytes([4, 5]))
        queue.append(bytes([6]))
        #expect(queue.queuedBytes == 6)
        queue.consume(2)
        #expect(drain(queue) == [3, 4, 5, 6])
        queue.consume(2)
        #expect(drain(queue) == [5, 6])
        queue.consume(2)
        #expect(queue.isEmpty && queue.count == 0)
        #expect(drain(queue) == [])
    }

    @Test func fillRespectsTheIovecLimit() {
        var queue = OutboundQueue()
        for value in 0..<40 { queue.append(bytes([UInt8(value)])) }
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: 8)
        defer { iovecs.deallocate() }
        #expect(queue.fill(iovecs, max: 8) == 8)
        queue.consume(39)
        #expect(drain(queue) == [39])
    }

    @Test func dropUnstartedKeepsAPartiallyWrittenHead() {
        var queue = OutboundQueue()
        queue.append(bytes([1, 2, 3]))
        queue.append(bytes([4, 5]))
        queue.consume(1)
        #expect(queue.dropUnstarted() == 2)
        #expect(drain(queue) == [2, 3])
        queue.consume(2)
        queue.append(bytes([6]))
        #expect(queue.dropUnstarted() == 1)
        #expect(queue.isEmpty)
    }

    @Test func sharedBytesAreQueuedByReferenceNotCopied() {
        let frame = bytes([9, 9, 9])
        var first = OutboundQueue()
        var second = OutboundQueue()
        first.append(frame)
        second.append(frame)
        let a = UnsafeMutablePointer<iovec>.allocate(capacity: 1)
        let b = UnsafeMutablePointer<iovec>.allocate(capacity: 1)
        defer { a.deallocate(); b.deallocate() }
        _ = first.fill(a, max: 1)
        _ = second.fill(b, max: 1)
        #expect(a[0].iov_base == b[0].iov_base)
    }

    @Test func timerHeapRunsInDeadlineThenSchedulingOrder() {
        var heap = TimerHeap()
        var order: [Int] = []
        for (deadline, label) in [(30, 3), (10, 1), (20, 2), (10, 11), (5, 0)] {
            heap.push(deadline: UInt64(deadline)) { order.append(label) }
        }
        while let task = heap.popDue(now: 25) { task() }
        #expect(order == [0, 1, 11, 2])
        #expect(!heap.isEmpty)
    }
}

@Suite("Peer addresses")
struct PeerAddressTests {
    func storage(family: Int32, bytes: [UInt8]) -> sockaddr_in6 {
        var address = sockaddr_in6()
        if family == AF_INET {
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    v4.pointee.sin_family = sa_family_t(AF_INET)
                    v4.pointee.sin_addr.s_addr = bytes.withUnsafeBytes { $0.load(as: UInt32.self) }
                }
            }
        } else {
            address.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        }
        return address
    }

    @Test func everyIPv6PeerHasItsOwnKeyAndIPv4MappedIsTheIPv4Key() {
        let a = PeerAddress(storage(family: AF_INET6, bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]))!
        let b = PeerAddress(storage(family: AF_INET6, bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2]))!
        #expect(a != b)
        #expect(a.description == "2001:db8::1" && b.description == "2001:db8::2")
        let v4 = PeerAddress(storage(family: AF_INET, bytes: [192, 0, 2, 7]))!
        let mapped = PeerAddress(storage(family: AF_INET6, bytes: [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 7]))!
        #expect(v4 == mapped)
        #expect(v4.description == "192.0.2.7" && mapped.ipv4 == 0xC000_0207)
        #expect(PeerAddress(storage(family: AF_INET6, bytes: [UInt8](repeating: 0, count: 15) + [1]))!.description == "::1")
    }
}
