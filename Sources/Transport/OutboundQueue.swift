import Glibc

/// A connection's pending output: references to shared byte blocks, written front to back with
/// `writev` so a burst of queued frames leaves in one system call.
///
/// Bounded by the connection (see `Connection.enqueue`); this type only keeps the books.
public struct OutboundQueue {
    private var entries: ContiguousArray<SharedBytes> = []
    /// Index of the first unwritten entry.
    private var head = 0
    /// Bytes of `entries[head]` already written.
    private var headOffset = 0
    /// Bytes still to write.
    public private(set) var queuedBytes = 0

    public init() {}

    public var isEmpty: Bool { self.queuedBytes == 0 }
    public var count: Int { self.entries.count - self.head }

    @inline(__always)
    public mutating func append(_ bytes: SharedBytes) {
        guard bytes.count > 0 else { return }
        self.entries.append(bytes)
        self.queuedBytes += bytes.count
    }

    /// Drops every entry not yet started, keeping a partially written head (cutting a frame in
    /// half would corrupt the stream). Returns the bytes dropped.
    public mutating func dropUnstarted() -> Int {
        let keep = self.headOffset > 0 ? self.head + 1 : self.head
        var dropped = 0
        if keep < self.entries.count {
            for index in keep..<self.entries.count { dropped += self.entries[index].count }
            self.entries.removeSubrange(keep...)
        }
        self.queuedBytes -= dropped
        return dropped
    }

    /// Fills up to `max` iovecs with the unwritten bytes, in order. Returns how many it filled.
    public func fill(_ iovecs: UnsafeMutablePointer<iovec>, max: Int) -> Int {
        var filled = 0
        var index = self.head
        while index < self.entries.count && filled < max {
            let entry = self.entries[index]
            let skip = index == self.head ? self.headOffset : 0
            iovecs[filled] = iovec(iov_base: entry.base + skip, iov_len: entry.count - skip)
            filled += 1
            index += 1
        }
        return filled
    }

    /// Records that `written` bytes left, releasing fully written entries.
    public mutating func consume(_ written: Int) {
        var left = written
        self.queuedBytes -= written
        while left > 0 {
            let remainingInHead = self.entries[self.head].count - self.headOffset
            if left >= remainingInHead {
                left -= remainingInHead
                self.head += 1
                self.headOffset = 0
            } else {
                self.headOffset += left
                left = 0
            }
        }
        if self.head == self.entries.count {
            // Empty: keep a small array's storage for the next burst; give back a big one, so a
            // connection that once had a backlog does not hold that memory while idle.
            if self.entries.capacity > 64 {
                self.entries = []
            } else {
                self.entries.removeAll(keepingCapacity: true)
            }
            self.head = 0
        } else if self.head >= 64 && self.head * 2 >= self.entries.count {
            self.entries.removeSubrange(0..<self.head)
            self.head = 0
        }
    }
}
