import Auth
import JSON
import Transport
import WebSocket

/// `GET /api/cluster` (admin token): the cluster as Redis sees it — every node with its rooms and
/// the rooms it runs, and every room's owner, fencing token and lease age. Answered from any
/// node; on a single node, 404.
struct ClusterStatusHandler: HTTPHandler {
    let secret: String
    let cluster: ClusterNode?

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard let cluster = self.cluster else { return reply(.text(.notFound, "not a cluster (cluster.redis is not set)\n")) }
        let head = request.head
        guard let token = head.queryValue("token") ?? head.bearerToken,
            case .success(let claims) = JWT.verify(token, secret: self.secret, now: WallClock.nowMillis() / 1000), claims.role == "admin"
        else {
            return reply(.text(.unauthorized, "an admin token is required\n"))
        }
        cluster.status { status in
            guard let status else { return reply(.text(.serviceUnavailable, "redis unreachable\n")) }
            var writer = JSONWriter()
            writer.value(status)
            reply(
                HTTPResponse(
                    status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: writer.bytes))
        }
    }
}
