import Glibc

/// Waits until `count` count-downs happened: how a thread waits for work it handed to several
/// event loops (a drain step on every loop, a snapshot from every loop). `@unchecked Sendable`:
/// its count is read and written only under its mutex.
public final class CountdownLatch: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var remaining: Int

    public init(_ count: Int) {
        self.remaining = count
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.condition, nil)
    }

    deinit {
        pthread_cond_destroy(&self.condition)
        pthread_mutex_destroy(&self.mutex)
    }

    public func countDown() {
        pthread_mutex_lock(&self.mutex)
        self.remaining -= 1
        pthread_cond_broadcast(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    public func wait() {
        pthread_mutex_lock(&self.mutex)
        while self.remaining > 0 { pthread_cond_wait(&self.condition, &self.mutex) }
        pthread_mutex_unlock(&self.mutex)
    }

    /// Waits at most `seconds`; true when every count-down happened (more than `count` are fine).
    public func wait(seconds: Double) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + Int(seconds.truncatingRemainder(dividingBy: 1) * 1e9)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        while self.remaining > 0 {
            if pthread_cond_timedwait(&self.condition, &self.mutex, &deadline) == ETIMEDOUT { return self.remaining <= 0 }
        }
        return true
    }
}
