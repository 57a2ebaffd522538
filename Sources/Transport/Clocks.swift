import Glibc

/// CLOCK_MONOTONIC: never jumps with wall-clock changes, so timeouts and latencies stay honest.
public enum MonotonicClock {
    /// Nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// Seconds, for measuring durations (the same clock in every process on this machine).
    /// Milliseconds on the monotonic clock (leases: it keeps counting while the process is stopped).
    public static func millis() -> Int64 { Int64(now() / 1_000_000) }

    public static func seconds() -> Double {
        Double(Self.now()) / 1e9
    }
}

/// Wall-clock milliseconds since 1970: what clients see in `ts`, `starts_at` and `ends_at`, and
/// what logs print. (Timeouts use the monotonic clock; this one is for display and sale times.)
public enum WallClock {
    public static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
