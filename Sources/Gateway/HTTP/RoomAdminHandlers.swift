import Auth
import JSON
import Transport
import WebSocket

/// Admin tokens only: the operator's room tools (load tests leave rooms behind).
func isAdmin(_ request: HTTPRequest, secret: String) -> Bool {
    guard let token = request.head.queryValue("token") ?? request.head.bearerToken,
        case .success(let claims) = JWT.verify(token, secret: secret, now: WallClock.nowMillis() / 1000)
    else { return false }
    return claims.role == "admin"
}

/// `GET /api/admin/rooms` (admin token): every room in memory on this node — name, owner,
/// title, live, viewers — the ones the lobby shows and the ones it does not.
struct RoomAdminListHandler: HTTPHandler {
    let secret: String
    let directory: RoomDirectory
    let listing: RoomListing

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        let entries = Dictionary(self.listing.local.map { ($0.room, $0) }, uniquingKeysWith: { first, _ in first })
        let rooms: [JSONValue] = self.directory.allHandles.sorted { $0.id < $1.id }.map { handle in
            let entry = entries[handle.id]
            return .object([
                ("room", .string(handle.id)), ("owner", .string(handle.owner)), ("title", .string(entry?.title ?? "")),
                ("live", .bool(entry?.live ?? false)), ("viewers", .int(Int64(entry?.viewers ?? 0))),
                ("listed", .bool(entry != nil)),
            ])
        }
        var writer = JSONWriter()
        writer.value(.array(rooms))
        reply(
            HTTPResponse(status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: writer.bytes))
    }
}

/// `POST /api/admin/rooms/{room}/close` (admin token): closes and archives a room — not live, its
/// sales ended (stored), every member sent away with 4010, and out of memory, the lobby and the
/// metrics once empty. Its state and orders stay in the store (the export still has them).
struct RoomAdminCloseHandler: HTTPHandler {
    let secret: String
    let rooms: RoomRunner

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        guard let name = request.name, let handle = self.rooms.directory.handle(for: name) else {
            return reply(.text(.notFound, "no room '\(request.name ?? "")' on this node\n"))
        }
        Log.info("room archived by an operator", ["room": name])
        self.rooms.archive(handle) {
            reply(
                HTTPResponse(
                    status: .ok, headers: [("Content-Type", "application/json")], body: Array(#"{"room":"\#(name)","closed":true}"#.utf8)))
        }
    }
}
