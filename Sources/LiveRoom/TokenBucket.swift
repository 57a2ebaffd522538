/// A token bucket on an injected clock (milliseconds): `rate` tokens per second, up to `burst`.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Int64

    public init(rate: Double, burst: Double, now: Int64) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    /// Whether the bucket has refilled completely by `now`: then it is the same as a new one, so a
    /// table of buckets can forget it without changing any future answer.
    public func isFull(now: Int64) -> Bool {
        self.tokens + Double(max(0, now - self.updatedAt)) * self.rate / 1000 >= self.burst
    }

    /// Takes one token if there is one.
    public mutating func take(now: Int64) -> Bool {
        if now > self.updatedAt {
            self.tokens = min(self.burst, self.tokens + Double(now - self.updatedAt) * self.rate / 1000)
            self.updatedAt = now
        }
        guard self.tokens >= 1 else { return false }
        self.tokens -= 1
        return true
    }
}
