import Transport

/// What a session may use, and nothing more: settings, the admission limiter, metrics, the HTTP
/// router, the rooms and the bench channels. (The server object itself is not handed out.)
struct SessionContext: Sendable {
    let config: ServerConfiguration
    let limiter: ConnectionLimiter
    let metrics: ServerMetrics
    let router: HTTPRouter
    let rooms: RoomRunner
    let bench: FanOut
}
