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

/// A count that other threads raise, and a test thread waits on until it reaches a target:
/// event-based (a condition variable), not polling.
public final class CountdownToTarget: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var reached = pthread_cond_t()
    private var count = 0

    public init() {
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.reached, nil)
    }

    public func increment() {
        pthread_mutex_lock(&self.mutex)
        self.count += 1
        pthread_cond_broadcast(&self.reached)
        pthread_mutex_unlock(&self.mutex)
    }

    public var value: Int {
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        return self.count
    }

    /// Waits until the count is at least `target`, at most `seconds`. True when it got there.
    public func wait(forAtLeast target: Int, seconds: Double) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + Int(seconds.truncatingRemainder(dividingBy: 1) * 1e9)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        while self.count < target {
            if pthread_cond_timedwait(&self.reached, &self.mutex, &deadline) == ETIMEDOUT { return self.count >= target }
        }
        return true
    }
}
