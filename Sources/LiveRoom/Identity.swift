/// Who a room member is, as the gateway authenticated them.
public enum Role: String, Sendable, CaseIterable {
    case viewer
    case streamer
    case moderator
    case admin

    /// Streamers and admins may open a room of their own (the gateway creates it for them). What
    /// anyone may do inside a room is its `Authority`, not the role.
    public var mayOpenRooms: Bool { self == .streamer || self == .admin }
}

/// One connection in a room. Several members can share a user (two tabs, a phone and a laptop).
public typealias MemberID = Int

public struct Identity: Equatable, Sendable {
    public var user: String
    public var name: String
    public var role: Role
    /// Anonymous viewers may watch, never comment or buy.
    public var anonymous: Bool
    /// The room the token was issued for (its `room` claim), if any: a moderator token with one
    /// moderates that room.
    public var room: String?

    public init(user: String, name: String, role: Role, anonymous: Bool = false, room: String? = nil) {
        self.user = user
        self.name = name
        self.role = role
        self.anonymous = anonymous
        self.room = room
    }

    public static func anonymousViewer(_ member: MemberID) -> Identity {
        Identity(user: "anon-\(member)", name: "guest", role: .viewer, anonymous: true)
    }
}
