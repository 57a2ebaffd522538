/// A node's lease on one room, as the node itself sees it: the fencing token Redis granted, and
/// until when (on the node's own monotonic clock) it may act as the room's owner.
///
/// The rule that keeps a paused or partitioned owner harmless: validity is counted from when a
/// grant or renewal was *requested*, not when its answer arrived, and ends `margin` before Redis
/// would let the key expire. Redis starts the TTL no earlier than the request was sent, so while
/// `isValid` holds here the key cannot have expired there, and no other node can hold the room.
/// A process stopped with SIGSTOP wakes with its monotonic clock past `validUntil`: it stops
/// acting before it does anything. Whatever it had already sent is fenced by the token in Redis.
public struct Lease: Equatable, Sendable {
    public let token: UInt64
    /// The TTL asked of Redis (ms).
    public let duration: Int64
    /// Safety gap for clock-rate differences between this node and Redis (ms).
    public let margin: Int64
    public private(set) var validUntil: Int64
    public private(set) var lastRenewalSentAt: Int64
    public private(set) var renewalInFlight = false

    public init(token: UInt64, requestedAt: Int64, duration: Int64, margin: Int64) {
        self.token = token
        self.duration = duration
        self.margin = margin
        self.validUntil = requestedAt + duration - margin
        self.lastRenewalSentAt = requestedAt
    }

    public func isValid(at now: Int64) -> Bool { now < self.validUntil }

    /// Renewals go out every quarter of the lease, so three in a row can fail (a Redis blip)
    /// before the lease runs out.
    public func renewalDue(at now: Int64) -> Bool {
        !self.renewalInFlight && now - self.lastRenewalSentAt >= self.duration / 4
    }

    public mutating func renewalSent(at now: Int64) {
        self.renewalInFlight = true
        self.lastRenewalSentAt = now
    }

    /// A renewal sent at `sentAt` was answered: extended from that moment if Redis agreed. A
    /// refusal or a lost answer leaves the validity as it was: it runs out on its own.
    public mutating func renewalAnswered(sentAt: Int64, renewed: Bool) {
        self.renewalInFlight = false
        if renewed { self.validUntil = max(self.validUntil, sentAt + self.duration - self.margin) }
    }
}

/// What Redis said to a request for a room's lease.
public enum LeaseReply: Equatable, Sendable {
    /// Ours, with a fencing token greater than every earlier owner's.
    case granted(token: UInt64)
    /// Held by another holder ("node|boot|token").
    case held(by: String)
    /// No answer (Redis down, timed out): try again later.
    case failed
}

/// The lease operations, as the Lua scripts in `ClusterScripts` implement them in Redis. A fake
/// in the tests implements the same rules on a fake clock.
public protocol LeaseStore: AnyObject, Sendable {
    /// Takes the room if nobody holds it (or this same node does: a node asks only for rooms it
    /// does not run, so whatever lease it held is one it gave up).
    func acquire(room: String, node: String, boot: String, ttl: Int64, _ done: @escaping @Sendable (LeaseReply) -> Void)
    /// Extends the lease if `token` is still the room's fence; true when renewed, false when
    /// another node took it, nil when the answer is unknown.
    func renew(room: String, node: String, boot: String, token: UInt64, ttl: Int64, _ done: @escaping @Sendable (Bool?) -> Void)
    /// Gives the room up (a clean shutdown, or a room this node can no longer vouch for).
    func release(room: String, node: String, boot: String, token: UInt64)
}

/// The holder string stored in a lease key.
public func leaseHolder(node: String, boot: String, token: UInt64) -> String { "\(node)|\(boot)|\(token)" }

/// The node named in a holder string.
public func leaseHolderNode(_ holder: String) -> (node: String, boot: String, token: UInt64)? {
    let parts = holder.split(separator: "|", omittingEmptySubsequences: false)
    guard parts.count == 3, let token = UInt64(parts[2]) else { return nil }
    return (String(parts[0]), String(parts[1]), token)
}
