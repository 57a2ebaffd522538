import Glibc

/// Starting a thread: the one place that turns a Swift closure into a pthread.
public enum Threads {
    /// Starts `body` on a new thread and returns it (to join, unless `detached`).
    @discardableResult
    public static func start(detached: Bool = false, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread, &attributes,
            { argument in
                Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        return thread
    }

    /// Short-lived background work that must not run on an event loop (a blocking database read).
    public static func detach(_ body: @escaping @Sendable () -> Void) {
        Self.start(detached: true, body)
    }
}
