/// Per-connection output bounds: the slow-consumer policy in numbers.
///
/// - Above `highWaterMark` queued bytes: the connection stops reading (the peer gets no more
///   work done until it drains what it asked for) and droppable messages are dropped for it.
/// - Reading resumes below `lowWaterMark`.
/// - A message that would take the queue past `hardLimit` is not queued; the handler is told
///   (`connectionOverflowed`) and closes the connection with "slow consumer".
public struct OutboundLimits: Sendable, Equatable {
    public var lowWaterMark: Int
    public var highWaterMark: Int
    public var hardLimit: Int

    public init(lowWaterMark: Int, highWaterMark: Int, hardLimit: Int) {
        precondition(lowWaterMark <= highWaterMark && highWaterMark <= hardLimit, "limits out of order")
        self.lowWaterMark = lowWaterMark
        self.highWaterMark = highWaterMark
        self.hardLimit = hardLimit
    }

    /// 32 KiB / 64 KiB / 1 MiB: a live viewer rarely has more than a few KiB in flight; a megabyte
    /// of backlog is many seconds of a busy room and means the peer is not keeping up.
    public static let `default` = OutboundLimits(lowWaterMark: 32 * 1024, highWaterMark: 64 * 1024, hardLimit: 1 << 20)
}
