import Auth
import LiveRoom
import Transport
import WebSocket

extension WebSocketSession {
    /// Authenticates and finds the room before the upgrade: a bad, expired or wrong-room token
    /// is 401, a room no streamer ever created is 404 (random names cost no memory).
    func admitToRoom(_ room: String, _ head: HTTPRequestHead) -> Bool {
        let auth = self.server.config.auth
        self.member = self.server.rooms.makeMemberID()
        if let token = head.queryValue("token") ?? head.bearerToken, !token.isEmpty {
            switch JWT.verify(token, secret: auth.jwtSecret, now: WallClock.nowMillis() / 1000) {
            case .failure(let error):
                self.respond(.text(.unauthorized, "\(error)\n"))
                return false
            case .success(let claims):
                guard let role = Role(rawValue: claims.role) else {
                    self.respond(.text(.unauthorized, "unknown role '\(claims.role)'\n"))
                    return false
                }
                if let only = claims.room, only != room {
                    self.respond(.text(.unauthorized, "this token is for room '\(only)'\n"))
                    return false
                }
                // Names are shown to the whole room: keep them to a display size whatever the token says.
                self.identity = Identity(user: String(claims.sub.prefix(128)), name: String(claims.name.prefix(64)), role: role)
            }
        } else {
            guard auth.allowAnonymous else {
                self.respond(.text(.unauthorized, "a token is required\n"))
                return false
            }
            self.identity = Identity.anonymousViewer(self.member)
        }
        let host =
            self.server.rooms.host(for: room)
            ?? (self.identity.role.canSell ? self.server.rooms.hostCreating(room, owner: self.identity.user) : nil)
        guard let host else {
            self.respond(.text(.notFound, "no room '\(room)'\n"))
            return false
        }
        self.host = host
        if self.identity.role.isStaff {
            // The order stream is never dropped; give the people running the sale far more room
            // to fall behind during a stampede before the slow-consumer rule cuts them off.
            let limits = self.connection.limits
            self.connection.limits = OutboundLimits(
                lowWaterMark: limits.lowWaterMark, highWaterMark: limits.highWaterMark,
                hardLimit: limits.hardLimit * Self.staffOutboundFactor)
        }
        return true
    }

    /// How many times the normal outbound hard limit a streamer or moderator gets.
    static let staffOutboundFactor = 16
}
