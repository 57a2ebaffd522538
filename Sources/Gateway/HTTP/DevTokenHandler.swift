import Auth
import JSON
import LiveRoom
import Transport
import WebSocket

/// `GET /api/dev/token?name=N&role=viewer|streamer[&room=R]`: a token for trying the pages
/// without an identity provider, signed with the server's secret. Off in production.
struct DevTokenHandler: HTTPHandler {
    let enabled: Bool
    let secret: String

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        let head = request.head
        guard self.enabled else {
            reply(.text(.notFound, "development login is off\n"))
            return
        }
        let name = (head.queryValue("name") ?? "").trimmingWhitespace
        let role = head.queryValue("role") ?? "viewer"
        guard !name.isEmpty, name.count <= 32, role == "viewer" || role == "streamer" else {
            reply(.text(.badRequest, "name (1-32 characters) and role viewer or streamer\n"))
            return
        }
        let room = head.queryValue("room").flatMap { Names.isValid($0) ? $0 : nil }
        // The user id follows from the name (and role), so the same name signs in as the same person.
        let sub = role + "-" + String(UInt64(bitPattern: Int64(stableHash(role + "\n" + name))), radix: 36)
        let claims = JWT.Claims(sub: sub, name: name, role: role, room: room, exp: WallClock.nowMillis() / 1000 + 12 * 3600)
        var w = JSONWriter()
        w.raw("{\"token\":")
        w.string(JWT.sign(claims, secret: self.secret))
        w.raw(",\"user\":")
        w.string(sub)
        w.raw(",\"name\":")
        w.string(name)
        w.raw(",\"role\":")
        w.string(role)
        w.raw("}")
        reply(HTTPResponse(status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: w.bytes))
    }
}
