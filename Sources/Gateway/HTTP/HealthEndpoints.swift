import WebSocket

/// `GET /healthz`: the process answers (liveness).
struct LivenessHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        reply(.text(.ok, "ok\n"))
    }
}

/// `GET /readyz`: 503 while draining or when the store cannot be written, so a load balancer
/// stops sending traffic here.
struct ReadinessHandler: HTTPHandler {
    let readiness: Readiness

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        if let problem = self.readiness.problem {
            reply(.text(.serviceUnavailable, problem + "\n"))
        } else {
            reply(.text(.ok, "ready\n"))
        }
    }
}

/// `GET /metrics`: the Prometheus text format.
struct MetricsHandler: HTTPHandler {
    let render: @Sendable () -> String

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        reply(
            HTTPResponse(
                status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Array(self.render().utf8)))
    }
}
