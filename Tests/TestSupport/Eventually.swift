import Glibc
import Transport

/// Polls `condition` every `interval` seconds until it holds or `seconds` of wall time (monotonic)
/// have passed, and says whether it held. For state that only another process or thread can
/// change and that offers no event to wait on (a server process answering `/healthz`, a gauge
/// on `/metrics`). The deadline is real time, so a slow `condition` cannot stretch the wait.
public func eventually(within seconds: Double = 5, interval: Double = 0.01, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.seconds() + seconds
    while !condition() {
        if MonotonicClock.seconds() >= deadline { return false }
        usleep(useconds_t(interval * 1_000_000))
    }
    return true
}
