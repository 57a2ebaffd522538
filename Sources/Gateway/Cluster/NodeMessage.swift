import JSON
import LiveRoom

/// A member of a room connected through another node: which node (and which life of it), and
/// the member id that node gave its session.
struct RemoteMember: Hashable, Sendable {
    let node: String
    let boot: String
    let member: MemberID
}

/// What nodes say to each other through Redis pub/sub, on each node's inbox channel. Commands go
/// from the node a viewer is connected to, to the room's owner; replies, welcomes and closes come
/// back. (Broadcasts do not come this way: they go on the room's own channel.)
///
/// Plain lines, the free text last: the hot messages (commands, replies) cost no JSON wrapping.
/// Room names, node names and boot ids are checked identifiers without newlines.
enum NodeMessage: Equatable, Sendable {
    case join(room: String, from: RemoteMember, identity: Identity, since: UInt64?, epoch: String?)
    case leave(room: String, from: RemoteMember)
    /// A member's message to the room, as the client sent it (the owner decodes it).
    case command(room: String, from: RemoteMember, message: String)
    /// An encoded event for some of a node's members; a welcome joins them to the node's audience.
    case deliver(room: String, members: [MemberID], welcome: Bool, staff: Bool, event: String)
    case close(room: String, members: [MemberID], code: UInt16, reason: String)
    /// The shop's `paid` or `cancel` (change "pay" or "cancel"), received by `node`, for the room's
    /// owner; the answer goes back to `node` under `ticket`.
    case shop(room: String, node: String, ticket: Int, change: String, order: String)
    /// The owner's answer to a forwarded shop call: outcome done, conflict, not_found or
    /// unavailable, a message, and the order (stored JSON with its state, or "").
    case shopAnswer(ticket: Int, outcome: String, message: String, order: String)

    func encoded() -> String {
        switch self {
        case .join(let room, let from, let identity, let since, let epoch):
            var writer = JSONWriter()
            writer.value(
                .object([
                    ("user", .string(identity.user)), ("name", .string(identity.name)), ("role", .string(identity.role.rawValue)),
                    ("anonymous", .bool(identity.anonymous)), ("room", identity.room.map { .string($0) } ?? .null),
                ]))
            let head = ["J", room, from.node, from.boot, String(from.member), since.map { String($0) } ?? "", epoch ?? ""]
            return head.joined(separator: "\n") + "\n" + String(decoding: writer.bytes, as: UTF8.self)
        case .leave(let room, let from):
            return ["L", room, from.node, from.boot, String(from.member)].joined(separator: "\n")
        case .command(let room, let from, let message):
            return ["M", room, from.node, from.boot, String(from.member), message].joined(separator: "\n")
        case .deliver(let room, let members, let welcome, let staff, let event):
            let flags = (welcome ? "w" : "") + (staff ? "s" : "")
            return ["S", room, members.map(String.init).joined(separator: ","), flags, event].joined(separator: "\n")
        case .close(let room, let members, let code, let reason):
            return ["C", room, members.map(String.init).joined(separator: ","), String(code), reason].joined(separator: "\n")
        case .shop(let room, let node, let ticket, let change, let order):
            return ["P", room, node, String(ticket), change, order].joined(separator: "\n")
        case .shopAnswer(let ticket, let outcome, let message, let order):
            return ["A", String(ticket), outcome, message.replacingAll("\n", with: " "), order].joined(separator: "\n")
        }
    }

    /// Nil for anything malformed (a message from a newer or broken node is dropped, not trusted).
    static func decode(_ bytes: [UInt8]) -> NodeMessage? {
        guard let kind = bytes.first else { return nil }
        let fieldCount: Int
        switch kind {
        case UInt8(ascii: "J"): fieldCount = 8
        case UInt8(ascii: "L"): fieldCount = 5
        case UInt8(ascii: "M"), UInt8(ascii: "S"), UInt8(ascii: "C"): fieldCount = kind == UInt8(ascii: "M") ? 6 : 5
        case UInt8(ascii: "P"): fieldCount = 6
        case UInt8(ascii: "A"): fieldCount = 5
        default: return nil
        }
        let fields = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: fieldCount - 1, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == fieldCount else { return nil }
        func members(_ text: String) -> [MemberID]? {
            let parts = text.split(separator: ",")
            let ids = parts.compactMap { MemberID($0) }
            return ids.count == parts.count && !ids.isEmpty ? ids : nil
        }
        switch kind {
        case UInt8(ascii: "J"):
            guard let member = MemberID(fields[4]), let json = try? JSONParser.parse(fields[7]), let user = json["user"]?.stringValue,
                let role = json["role"]?.stringValue.flatMap(Role.init(rawValue:))
            else { return nil }
            let identity = Identity(
                user: user, name: json["name"]?.stringValue ?? "", role: role, anonymous: json["anonymous"]?.boolValue ?? false,
                room: json["room"]?.stringValue)
            return .join(
                room: fields[1], from: RemoteMember(node: fields[2], boot: fields[3], member: member), identity: identity,
                since: UInt64(fields[5]), epoch: fields[6].isEmpty ? nil : fields[6])
        case UInt8(ascii: "L"):
            guard let member = MemberID(fields[4]) else { return nil }
            return .leave(room: fields[1], from: RemoteMember(node: fields[2], boot: fields[3], member: member))
        case UInt8(ascii: "M"):
            guard let member = MemberID(fields[4]) else { return nil }
            return .command(room: fields[1], from: RemoteMember(node: fields[2], boot: fields[3], member: member), message: fields[5])
        case UInt8(ascii: "P"):
            guard let ticket = Int(fields[3]), fields[4] == "pay" || fields[4] == "cancel" else { return nil }
            return .shop(room: fields[1], node: fields[2], ticket: ticket, change: fields[4], order: fields[5])
        case UInt8(ascii: "A"):
            guard let ticket = Int(fields[1]) else { return nil }
            return .shopAnswer(ticket: ticket, outcome: fields[2], message: fields[3], order: fields[4])
        case UInt8(ascii: "S"):
            guard let ids = members(fields[2]) else { return nil }
            return .deliver(
                room: fields[1], members: ids, welcome: fields[3].contains("w"), staff: fields[3].contains("s"), event: fields[4])
        default:
            guard let ids = members(fields[2]), let code = UInt16(fields[3]) else { return nil }
            return .close(room: fields[1], members: ids, code: code, reason: fields[4])
        }
    }
}
