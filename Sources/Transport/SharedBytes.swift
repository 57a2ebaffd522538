/// Immutable bytes that many connections queue by reference: a broadcast frame is encoded once
/// and every subscriber's outbound queue holds the same `SharedBytes`, never a copy.
///
/// The storage is written once, inside `init`, and never again, so sharing it across event-loop
/// threads is safe; ARC's atomic reference count frees it after the last queue lets go.
public final class SharedBytes: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `capacity` bytes and lets `fill` write them; `fill` returns how many it used.
    public init(capacity: Int, fill: (UnsafeMutableRawPointer) -> Int) {
        self.base = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 16)
        let used = fill(self.base)
        precondition(used <= capacity, "SharedBytes: wrote past its capacity")
        self.count = used
    }

    /// A copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(capacity: bytes.count) { destination in
            bytes.withUnsafeBytes { source in
                if let from = source.baseAddress { destination.copyMemory(from: from, byteCount: source.count) }
            }
            return bytes.count
        }
    }

    deinit {
        self.base.deallocate()
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.base, count: self.count) }

    public var array: [UInt8] { Array(self.bytes) }
}
