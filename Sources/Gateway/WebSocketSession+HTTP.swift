import Auth
import JSON
import LiveRoom
import Transport
import WebSocket

/// The plain-HTTP endpoints a session answers instead of upgrading.
extension WebSocketSession {
    /// `GET /api/rooms/{room}/orders`: the room's streamer (token for that room, or its creator)
    /// or an admin. The query runs off the event loop on a read-only connection; the answer comes
    /// back to this connection's loop.
    func exportOrders(_ room: String, _ head: HTTPRequestHead) {
        guard head.method == "GET" else {
            self.respond(.text(.methodNotAllowed, "GET only\n", headers: [("Allow", "GET")]))
            return
        }
        guard let token = head.queryValue("token") ?? head.bearerToken,
            case .success(let claims) = JWT.verify(token, secret: self.server.config.auth.jwtSecret, now: WallClock.nowMillis() / 1000)
        else {
            self.respond(.text(.unauthorized, "a valid streamer or admin token is required\n"))
            return
        }
        guard let host = self.server.rooms.host(for: room) else {
            self.respond(.text(.notFound, "no room '\(room)'\n"))
            return
        }
        let allowed = claims.role == "admin" || (claims.role == "streamer" && (claims.room == room || claims.sub == host.room.owner))
        guard allowed else {
            self.respond(.text(.forbidden, "only this room's streamer or an admin may export its orders\n"))
            return
        }
        let formatName = head.queryValue("format") ?? "jsonl"
        guard let format = OrderExport.Format(rawValue: formatName == "json" ? "jsonl" : formatName) else {
            self.respond(.text(.badRequest, "format must be jsonl or csv\n"))
            return
        }
        var limit = OrderExport.defaultLimit
        if let text = head.queryValue("limit") {
            guard let value = Int(text), value >= 1, value <= OrderExport.maxLimit else {
                self.respond(.text(.badRequest, "limit must be 1...\(OrderExport.maxLimit)\n"))
                return
            }
            limit = value
        }
        guard self.server.config.journal.enabled else {
            self.respond(.text(.serviceUnavailable, "the order journal is off (journal.enabled: false)\n"))
            return
        }
        let after = head.queryValue("after")
        let directory = self.server.config.dataDirectory
        let loop = self.connection.loop
        self.phase = .closing
        Thread.detach {
            let response: HTTPResponse
            do {
                let orders = try OrderExport.page(dataDirectory: directory, room: room, after: after, limit: limit)
                let type = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8"
                response = HTTPResponse(
                    status: .ok, headers: [("Content-Type", type), ("Cache-Control", "no-store")],
                    body: OrderExport.render(orders, format: format))
            } catch {
                Log.error("order export failed", ["room": room, "error": error])
                response = .text(.internalServerError, "export failed\n")
            }
            loop.execute { self.respond(response) }
        }
    }

    /// `GET /api/dev/token?name=N&role=viewer|streamer[&room=R]`: a token for trying the pages
    /// without an identity provider, signed with the server's secret. Off in production.
    func issueDevToken(_ head: HTTPRequestHead) {
        guard self.server.config.devLoginEnabled else {
            self.respond(.text(.notFound, "development login is off\n"))
            return
        }
        let name = (head.queryValue("name") ?? "").trimmingWhitespaceForName
        let role = head.queryValue("role") ?? "viewer"
        guard !name.isEmpty, name.count <= 32, role == "viewer" || role == "streamer" else {
            self.respond(.text(.badRequest, "name (1-32 characters) and role viewer or streamer\n"))
            return
        }
        let room = head.queryValue("room").flatMap { Route.isValidName($0[...]) ? $0 : nil }
        // The user id follows from the name (and role), so the same name signs in as the same person.
        let sub = role + "-" + String(UInt64(bitPattern: Int64(stableHash(role + "\n" + name))), radix: 36)
        let claims = JWT.Claims(sub: sub, name: name, role: role, room: room, exp: WallClock.nowMillis() / 1000 + 12 * 3600)
        var w = JSONWriter()
        w.raw("{\"token\":"); w.string(JWT.sign(claims, secret: self.server.config.auth.jwtSecret))
        w.raw(",\"user\":"); w.string(sub)
        w.raw(",\"name\":"); w.string(name)
        w.raw(",\"role\":"); w.string(role); w.raw("}")
        self.respond(
            HTTPResponse(status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: w.bytes))
    }
}
