import Glibc

/// Wall-clock milliseconds since 1970: what clients see in `ts`, `starts_at` and `ends_at`.
/// (Timeouts use the monotonic clock; this one is for display and for sale times.)
public enum WallClock {
    public static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
