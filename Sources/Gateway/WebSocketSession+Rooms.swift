import Auth
import LiveRoom
import Transport
import WebSocket

/// Who may enter a live room, decided before the upgrade.
struct RoomAdmission {
    /// The room, or nil when a streamer opens a new one (created only once the upgrade succeeds,
    /// so a plain GET creates nothing).
    var handle: RoomHandle?
    var room: String
}

struct AdmissionRefusal: Error {
    let response: HTTPResponse
}

extension WebSocketSession {
    /// Authenticates and finds the room: a bad, expired or wrong-room token is 401, a room nobody
    /// created is 404 for viewers (random names cost no memory).
    func admitToRoom(_ room: String, _ head: HTTPRequestHead) -> Result<RoomAdmission, AdmissionRefusal> {
        let auth = self.context.config.auth
        self.member = self.context.rooms.makeMemberID()
        if let token = head.queryValue("token") ?? head.bearerToken, !token.isEmpty {
            switch JWT.verify(token, secret: auth.jwtSecret, now: WallClock.nowMillis() / 1000) {
            case .failure(let error):
                return .failure(AdmissionRefusal(response: .text(.unauthorized, "\(error)\n")))
            case .success(let claims):
                guard let role = Role(rawValue: claims.role) else {
                    return .failure(AdmissionRefusal(response: .text(.unauthorized, "unknown role '\(claims.role)'\n")))
                }
                guard Names.isPrintableIdentifier(claims.sub, maxBytes: 128) else {
                    return .failure(
                        AdmissionRefusal(response: .text(.unauthorized, "the token's sub must be 1-128 bytes of printable text\n")))
                }
                if let only = claims.room, only != room {
                    return .failure(AdmissionRefusal(response: .text(.unauthorized, "this token is for room '\(only)'\n")))
                }
                // Names are shown to the whole room: keep them to a display size whatever the token says.
                self.identity = Identity(user: claims.sub, name: String(claims.name.prefix(64)), role: role, room: claims.room)
            }
        } else {
            guard auth.allowAnonymous else {
                return .failure(AdmissionRefusal(response: .text(.unauthorized, "a token is required\n")))
            }
            self.identity = Identity.anonymousViewer(self.member)
        }
        if let cluster = self.context.rooms.cluster {
            // Cluster mode: the room is found (or created) by the gate after the upgrade.
            guard cluster.roomExists(room) || self.identity.role.mayOpenRooms else {
                return .failure(AdmissionRefusal(response: .text(.notFound, "no room '\(room)'\n")))
            }
            return .success(RoomAdmission(handle: nil, room: room))
        }
        let directory = self.context.rooms.directory
        let handle = directory.handleOrLoad(room)
        if handle == nil {
            guard self.identity.role.mayOpenRooms else {
                return .failure(AdmissionRefusal(response: .text(.notFound, "no room '\(room)'\n")))
            }
            let limit = self.context.config.rooms.maxRoomsPerOwner
            if self.identity.role != .admin && limit > 0 && directory.count(ownedBy: self.identity.user) >= limit {
                return .failure(AdmissionRefusal(response: .text(.forbidden, "you already own \(limit) rooms\n")))
            }
        }
        return .success(RoomAdmission(handle: handle, room: room))
    }

    /// After the upgrade: the room (created now if a streamer opens it), and the join.
    func enterRoom(_ admission: RoomAdmission, head: HTTPRequestHead) {
        let rooms = self.context.rooms
        let limits = self.context.config.limits
        if limits.messagesPerSecond > 0 {
            self.messageBudget = TokenBucket(
                rate: limits.messagesPerSecond, burst: limits.messageBurst, now: Int64(self.connection.loop.now / 1_000_000))
        }
        let since = head.queryValue("since").flatMap { UInt64($0) }
        if let cluster = rooms.cluster {
            let gate = cluster.gate(admission.room)
            self.gate = gate
            let creating = !cluster.roomExists(admission.room) && self.identity.role.mayOpenRooms
            // The owner's room cap is kept in Redis, checked when the room is first stored.
            let limit = self.identity.role == .admin ? 0 : self.context.config.rooms.maxRoomsPerOwner
            gate.join(self, as: self.identity, since: since, epoch: head.queryValue("epoch"), creating: creating, roomLimit: limit)
            return
        }
        let handle = admission.handle ?? rooms.directory.create(admission.room, owner: self.identity.user)
        self.room = handle
        rooms.join(self, as: self.identity, handle: handle, since: since, epoch: head.queryValue("epoch"))
    }

    /// The order stream is never dropped: the people running the sale (authority to see it in
    /// this room, decided by the room when it welcomes them) get this many times the normal hard
    /// limit to fall behind during a stampede before the slow-consumer rule cuts them off.
    static let staffOutboundFactor = 16

    /// Called on this session's loop when the room welcomed it with authority to see orders:
    /// a larger outbound allowance, and a larger message budget (a streamer running a sale).
    func grantStaffAllowance() {
        let limits = self.connection.limits
        self.connection.limits = OutboundLimits(
            lowWaterMark: limits.lowWaterMark, highWaterMark: limits.highWaterMark, hardLimit: limits.hardLimit * Self.staffOutboundFactor)
        let configured = self.context.config.limits
        if configured.messagesPerSecond > 0 {
            let factor = Double(Self.staffOutboundFactor)
            self.messageBudget = TokenBucket(
                rate: configured.messagesPerSecond * factor, burst: configured.messageBurst * factor,
                now: Int64(self.connection.loop.now / 1_000_000))
        }
    }
}
