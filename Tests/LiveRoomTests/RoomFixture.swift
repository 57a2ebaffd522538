import LiveRoom

/// A room with a fake clock: every call says what time it is.
final class RoomFixture {
    let room: Room
    var now: Int64 = 1_800_000_000_000
    let streamer: MemberID = 1
    private var nextMember: MemberID = 100

    init(settings: RoomSettings = RoomSettings(), stock: Int = 10, limit: Int = 2, startSale: Bool = true) {
        self.room = Room(id: "farm", epoch: "E1", title: "Farm", settings: settings, now: self.now)
        // The streamer below owns the room (a streamer token for another user is a viewer here).
        self.room.owner = "seller"
        _ = self.room.join(self.streamer, as: Identity(user: "seller", name: "Seller", role: .streamer), now: self.now)
        _ = self.apply(.open(title: "Winter bamboo"), from: self.streamer)
        _ = self.apply(.productAdd(sku: "bamboo", title: "冬笋", price: 3990, stock: stock), from: self.streamer)
        if startSale {
            _ = self.apply(.saleStart(sku: "bamboo", limit: limit, countdown: nil, seconds: nil), from: self.streamer)
        }
    }

    @discardableResult
    func join(_ user: String, role: Role = .viewer, name: String? = nil, anonymous: Bool = false, room: String? = nil) -> MemberID {
        self.nextMember += 1
        let identity =
            anonymous ? Identity.anonymousViewer(self.nextMember) : Identity(user: user, name: name ?? user, role: role, room: room)
        _ = self.room.join(self.nextMember, as: identity, now: self.now)
        return self.nextMember
    }

    /// When false, commits fail (a broken journal).
    var journalWorks = true

    /// Applies a command; orders to commit are committed (or failed) at once, like a journal that
    /// answers immediately.
    func apply(_ command: RoomCommand, from member: MemberID, ref: String? = nil) -> [RoomEffect] {
        self.settle(self.room.apply(command, from: member, ref: ref, now: self.now))
    }

    func settle(_ effects: [RoomEffect]) -> [RoomEffect] {
        var out: [RoomEffect] = []
        for effect in effects {
            if case .commit(let order) = effect {
                out += self.journalWorks ? self.room.orderCommitted(order, now: self.now) : self.room.orderFailed(order, now: self.now)
            } else {
                out.append(effect)
            }
        }
        return out
    }

    func advance(ms: Int64) { self.now += ms }

    /// The order status the buyer was told.
    func order(_ member: MemberID, qty: Int = 1, ref: String, sku: SKU = "bamboo") -> (OrderStatus?, String?) {
        for effect in self.apply(.order(sku: sku, qty: qty, ref: ref), from: member) {
            if case .send(member, .orderResult(_, let status, let id, _)) = effect { return (status, id) }
        }
        return (nil, nil)
    }

    /// The error code the sender got, if any.
    func error(_ effects: [RoomEffect]) -> RoomError? {
        for effect in effects {
            if case .send(_, .error(let code, _, _)) = effect { return code }
        }
        return nil
    }

    func comment(_ text: String, from member: MemberID) -> [RoomEffect] {
        self.apply(.comment(text: text), from: member)
    }

    /// (shown, seq) of a successful comment.
    func shown(_ effects: [RoomEffect]) -> (Bool, UInt64)? {
        for effect in effects {
            switch effect {
            case .broadcast(.comment(let comment, true), _): return (true, comment.seq)
            case .send(_, .comment(_, false)): return (false, 0)
            default: continue
            }
        }
        return nil
    }
}
