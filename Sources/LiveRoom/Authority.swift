/// What a member may do in one room. A token's role means nothing by itself: a streamer is the
/// owner only of the rooms they own, a moderator moderates only the room their token names or
/// whose owner listed them, and everyone else is a viewer here. Decided in one place,
/// `Room.authority(of:)`, and checked in one place, `Room.apply`.
public enum Authority: Int, Comparable, Sendable {
    /// Watches, comments, likes, buys.
    case viewer = 0
    /// Also mutes, unmutes and bans viewers, and sees the order stream.
    case moderator = 1
    /// The room's owner (its creator, or the streamer an admin named): also runs the room —
    /// opens and closes it, products, pins, sales, slow mode, its moderator list.
    case owner = 2
    /// An admin token: everything the owner may do, in every room.
    case admin = 3

    public static func < (lhs: Authority, rhs: Authority) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Sees the order stream (buyers' ids and names) and the full allowance of a staff connection.
    public var seesOrders: Bool { self >= .moderator }

    /// The role the room tells the member it has (`welcome.you.role`): what it may actually do here.
    public var role: Role {
        switch self {
        case .viewer: return .viewer
        case .moderator: return .moderator
        case .owner: return .streamer
        case .admin: return .admin
        }
    }
}

extension Room {
    /// The authority `identity` has in this room.
    public func authority(of identity: Identity) -> Authority {
        if identity.anonymous { return .viewer }
        switch identity.role {
        case .admin:
            return .admin
        case .streamer where identity.user == self.owner:
            return .owner
        case .moderator where identity.room == self.id:
            return .moderator
        default:
            // Most rooms keep no list: skip hashing the user id on every command then.
            return !self.moderators.isEmpty && self.moderators.contains(identity.user) ? .moderator : .viewer
        }
    }

    /// The authority a user has here whether or not they are connected: the owner, a listed
    /// moderator, or the highest authority among their connected members.
    func standing(of user: String) -> Authority {
        if user == self.owner { return .owner }
        var highest: Authority = self.moderators.contains(user) ? .moderator : .viewer
        for member in self.members(of: user) {
            if let identity = self.members[member] { highest = max(highest, self.authority(of: identity)) }
        }
        return highest
    }
}
