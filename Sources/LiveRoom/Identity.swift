/// Who a room member is, as the gateway authenticated them.
public enum Role: String, Sendable, CaseIterable {
    case viewer
    case streamer
    case moderator
    case admin

    /// Streamers, moderators and admins run the room: they get the order stream, may moderate,
    /// and their comments are always shown.
    public var isStaff: Bool { self != .viewer }
    /// Only streamers (and admins) sell: open/close the room, products, sales.
    public var canSell: Bool { self == .streamer || self == .admin }
}

/// One connection in a room. Several members can share a user (two tabs, a phone and a laptop).
public typealias MemberID = Int

public struct Identity: Equatable, Sendable {
    public var user: String
    public var name: String
    public var role: Role
    /// Anonymous viewers may watch, never comment or buy.
    public var anonymous: Bool

    public init(user: String, name: String, role: Role, anonymous: Bool = false) {
        self.user = user
        self.name = name
        self.role = role
        self.anonymous = anonymous
    }

    public static func anonymousViewer(_ member: MemberID) -> Identity {
        Identity(user: "anon-\(member)", name: "guest", role: .viewer, anonymous: true)
    }
}
