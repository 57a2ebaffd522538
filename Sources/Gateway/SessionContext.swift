import Transport

/// What a session may use, and nothing more: settings, the admission limiter, metrics, the HTTP
/// router, the rooms and the bench channels. (The server object itself is not handed out.)
/// A class: one instance shared by every session (a reference each), not a copy of the whole
/// configuration in each of them — idle connections stay small.
final class SessionContext: Sendable {
    let config: ServerConfiguration
    let limiter: ConnectionLimiter
    let metrics: ServerMetrics
    let router: HTTPRouter
    let rooms: RoomRunner
    let bench: FanOut

    /// False on the admin port: plain HTTP only, no WebSocket upgrades.
    let upgrades: Bool

    init(
        config: ServerConfiguration, limiter: ConnectionLimiter, metrics: ServerMetrics, router: HTTPRouter, rooms: RoomRunner,
        bench: FanOut, upgrades: Bool = true
    ) {
        self.upgrades = upgrades
        self.config = config
        self.limiter = limiter
        self.metrics = metrics
        self.router = router
        self.rooms = rooms
        self.bench = bench
    }
}
