import LiveRoom
import Transport

/// Admission before the upgrade: connections in total and per IP, and new connections per second
/// per IP. One lock taken per connection opened or closed — never per message.
///
/// Per-IP limits are off by default: real traffic often arrives through a load balancer, where one
/// address is thousands of people.
final class ConnectionLimiter: Sendable {
    enum Verdict: Equatable {
        case admit
        /// 503: too many connections (in total or from this address).
        case full(String)
        /// 429: this address opens connections too fast.
        case tooFast
    }

    private struct Tally {
        var total = 0
        var perIP: [PeerAddress: Int] = [:]
        var rates: [PeerAddress: TokenBucket] = [:]
        var ratesSweptAt: Int64 = 0
    }

    private let tally = LockedValue(Tally())
    let maxConnections: Int
    let maxPerIP: Int
    let ratePerIP: Double

    init(maxConnections: Int, maxPerIP: Int, ratePerIP: Double) {
        self.maxConnections = maxConnections
        self.maxPerIP = maxPerIP
        self.ratePerIP = ratePerIP
    }

    /// Called once per accepted connection; an admitted one must be `release`d when it closes.
    func admit(_ ip: PeerAddress, now: Int64) -> Verdict {
        self.tally.withLock { tally in
            if self.maxConnections > 0 && tally.total >= self.maxConnections { return .full("server is full") }
            if self.maxPerIP > 0 && (tally.perIP[ip] ?? 0) >= self.maxPerIP { return .full("too many connections from your address") }
            if self.ratePerIP > 0 {
                if now - tally.ratesSweptAt > 60_000 {
                    // Forget idle addresses so the table stays as small as the set of active ones.
                    tally.rates = [:]
                    tally.ratesSweptAt = now
                }
                var bucket = tally.rates[ip] ?? TokenBucket(rate: self.ratePerIP, burst: max(1, self.ratePerIP), now: now)
                let allowed = bucket.take(now: now)
                tally.rates[ip] = bucket
                if !allowed { return .tooFast }
            }
            tally.total += 1
            if self.maxPerIP > 0 { tally.perIP[ip, default: 0] += 1 }
            return .admit
        }
    }

    func release(_ ip: PeerAddress) {
        self.tally.withLock { tally in
            tally.total -= 1
            if self.maxPerIP > 0, let count = tally.perIP[ip] { tally.perIP[ip] = count > 1 ? count - 1 : nil }
        }
    }
}
