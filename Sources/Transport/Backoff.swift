/// Exponential backoff with jitter, for anything that retries against a service that may be down
/// (Redis, a shop's webhook endpoint): the delay doubles with each failure up to `max`, and is
/// drawn from the upper half of that ceiling, so clients that failed together do not come back in
/// step.
public enum Backoff {
    /// The delay before retry number `attempt` (0 = after the first failure), in the unit of
    /// `base` and `max`.
    public static func delay<R: RandomNumberGenerator>(attempt: Int, base: UInt64, max: UInt64, using random: inout R) -> UInt64 {
        let exponent = UInt64(Swift.min(Swift.max(attempt, 0), 30))
        let ceiling = Swift.min(max, base << exponent)
        return ceiling / 2 + UInt64.random(in: 0...(ceiling / 2), using: &random)
    }
}
