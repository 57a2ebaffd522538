import Testing

@testable import LiveRoom

/// Who may act in a room: one model, checked in one place (`Room.apply`).
@Suite("Authority in a room")
struct AuthorityTests {
    @Test func aStreamerTokenRunsOnlyTheRoomsItOwns() {
        let f = RoomFixture()
        let intruder = f.join("other-seller", role: .streamer)
        let claimed = f.join("claims-this-room", role: .streamer, room: "farm")
        for member in [intruder, claimed] {
            #expect(f.error(f.apply(.close, from: member)) == .forbidden)
            #expect(f.error(f.apply(.productAdd(sku: "fake", title: "Fake", price: 1, stock: 1), from: member)) == .forbidden)
            #expect(f.error(f.apply(.saleStop(sku: "bamboo"), from: member)) == .forbidden)
            #expect(f.error(f.apply(.open(title: "Mine now"), from: member)) == .forbidden)
        }
        #expect(f.room.live && f.room.title == "Winter bamboo" && f.room.product("fake") == nil)
        #expect(f.room.product("bamboo")?.sale.state == .live)
    }

    @Test func theOrderStreamGoesOnlyToThoseWithAuthority() {
        let f = RoomFixture(stock: 5, limit: 5)
        let intruder = f.join("other-seller", role: .streamer)
        let foreignModerator = f.join("mod-elsewhere", role: .moderator, room: "another-room")
        let moderator = f.join("mod", role: .moderator, room: "farm")
        let admin = f.join("root", role: .admin)
        #expect(f.room.staffMembers == [f.streamer, moderator, admin])
        #expect(!f.room.staffMembers.contains(intruder) && !f.room.staffMembers.contains(foreignModerator))
    }

    @Test func moderatorsModerateOnlyTheirRoomAndOnlyDownwards() {
        let f = RoomFixture()
        _ = f.join("viewer")
        let foreign = f.join("mod-elsewhere", role: .moderator)
        #expect(f.error(f.apply(.mute(user: "viewer", seconds: nil), from: foreign)) == .forbidden)
        let moderator = f.join("mod", role: .moderator, room: "farm")
        _ = f.join("mod2", role: .moderator, room: "farm")
        // Not the owner (online or not), not another moderator, not themselves.
        #expect(f.error(f.apply(.mute(user: "seller", seconds: nil), from: moderator)) == .forbidden)
        _ = f.room.leave(f.streamer, now: f.now)
        #expect(f.error(f.apply(.ban(user: "seller"), from: moderator)) == .forbidden, "the owner is protected while offline")
        #expect(f.error(f.apply(.ban(user: "mod2"), from: moderator)) == .forbidden)
        #expect(f.error(f.apply(.mute(user: "mod", seconds: 5), from: moderator)) == .badRequest)
        #expect(f.error(f.apply(.mute(user: "viewer", seconds: 5), from: moderator)) == nil)
        // An admin may moderate a moderator, never the owner.
        let admin = f.join("root", role: .admin)
        #expect(f.error(f.apply(.ban(user: "mod2"), from: admin)) == nil)
        #expect(f.error(f.apply(.ban(user: "seller"), from: admin)) == .forbidden)
    }

    @Test func theOwnersListMakesModeratorsAndTheirAuthorityFollowsIt() {
        let f = RoomFixture()
        let helper = f.join("helper")
        #expect(f.error(f.apply(.mute(user: "someone", seconds: nil), from: helper)) == .forbidden)
        let added = f.apply(.moderatorAdd(user: "helper"), from: f.streamer)
        #expect(added.contains(.staff(.moderators(users: ["helper"]))))
        #expect(f.room.staffMembers.contains(helper))
        #expect(f.error(f.apply(.mute(user: "someone", seconds: nil), from: helper)) == nil)
        #expect(f.error(f.apply(.moderatorAdd(user: "x"), from: helper)) == .forbidden, "only the owner keeps the list")
        _ = f.apply(.moderatorRemove(user: "helper"), from: f.streamer)
        #expect(!f.room.staffMembers.contains(helper))
        #expect(f.error(f.apply(.mute(user: "someone", seconds: nil), from: helper)) == .forbidden)
    }

    @Test func bansMutesAndModeratorsAreStoredWithTheRoom() {
        let f = RoomFixture()
        _ = f.apply(.moderatorAdd(user: "helper"), from: f.streamer)
        _ = f.apply(.ban(user: "troll"), from: f.streamer)
        let muted = f.apply(.mute(user: "noisy", seconds: 60), from: f.streamer)
        guard case .persist(let snapshot)? = muted.first else {
            Issue.record("a mute is saved before it is announced")
            return
        }
        #expect(snapshot.moderators == ["helper"] && snapshot.banned == ["troll"])
        #expect(snapshot.muted["noisy"] == f.now + 60_000)
        let restored = Room.restore(snapshot, orders: [], epoch: "E2", now: f.now + 1000)
        #expect(restored.isBanned("troll") && restored.moderators == ["helper"])
        let troll = 500
        #expect(
            restored.join(troll, as: Identity(user: "troll", name: "t", role: .viewer), now: f.now).contains(
                .disconnect([troll], code: 4003, reason: "banned")))
        let noisy = 501
        _ = restored.join(noisy, as: Identity(user: "noisy", name: "n", role: .viewer), now: f.now)
        #expect(
            restored.apply(.comment(text: "hi"), from: noisy, now: f.now + 1000).contains {
                if case .send(_, .error(.muted, _, _)) = $0 { true } else { false }
            })
    }

    @Test func welcomeTellsTheRoleAMemberHasHere() {
        let f = RoomFixture()
        func role(_ identity: Identity) -> Role? {
            for case .send(_, .welcome(let welcome)) in f.room.join(900, as: identity, now: f.now) { return welcome.you.role }
            return nil
        }
        #expect(role(Identity(user: "seller", name: "s", role: .streamer)) == .streamer)
        #expect(role(Identity(user: "other", name: "o", role: .streamer)) == .viewer)
        #expect(role(Identity(user: "m", name: "m", role: .moderator, room: "farm")) == .moderator)
        #expect(role(Identity(user: "m2", name: "m", role: .moderator)) == .viewer)
        #expect(role(Identity(user: "a", name: "a", role: .admin)) == .admin)
    }

    /// Property: random commands from random identities change the room's durable state only
    /// through someone with authority for that command, and never oversell.
    @Test func randomCommandsFromRandomIdentitiesChangeStateOnlyThroughAuthority() {
        var generator = SplitMix64(seed: 0xA07)
        let identities: [Identity] = [
            Identity(user: "seller", name: "owner", role: .streamer),
            Identity(user: "other-seller", name: "s", role: .streamer),
            Identity(user: "other-seller-with-claim", name: "s", role: .streamer, room: "farm"),
            Identity(user: "mod", name: "m", role: .moderator, room: "farm"),
            Identity(user: "mod-elsewhere", name: "m", role: .moderator, room: "other"),
            Identity(user: "mod-no-claim", name: "m", role: .moderator),
            Identity(user: "root", name: "a", role: .admin),
            Identity(user: "viewer-1", name: "v", role: .viewer),
            Identity(user: "viewer-2", name: "v", role: .viewer),
            Identity.anonymousViewer(77),
        ]
        let users = identities.map(\.user) + ["stranger"]
        let skus = ["bamboo", "apples", "pears"]
        for round in 0..<30 {
            let f = RoomFixture(stock: 20, limit: 3)
            var members: [MemberID] = []
            for identity in identities {
                members.append(f.join(identity.user, role: identity.role, anonymous: identity.anonymous, room: identity.room))
            }
            for step in 0..<300 {
                let index = Int(generator.next() % UInt64(members.count))
                let member = members[index]
                let identity = f.room.identity(of: member)!
                let user = users[Int(generator.next() % UInt64(users.count))]
                let sku = skus[Int(generator.next() % UInt64(skus.count))]
                let command: RoomCommand
                switch generator.next() % 16 {
                case 0: command = .open(title: "t\(step)")
                case 1: command = .close
                case 2: command = .productAdd(sku: sku, title: sku, price: 100, stock: Int(generator.next() % 5))
                case 3: command = .restock(sku: sku, qty: 1)
                case 4: command = .pin(sku: sku)
                case 5: command = .saleStart(sku: sku, limit: 2, countdown: nil, seconds: nil)
                case 6: command = .saleStop(sku: sku)
                case 7: command = .slowMode(seconds: Int(generator.next() % 3))
                case 8: command = .mute(user: user, seconds: 30)
                case 9: command = .ban(user: user)
                case 10: command = .unban(user: user)
                case 11: command = .moderatorAdd(user: user)
                case 12: command = .moderatorRemove(user: user)
                default: command = .order(sku: sku, qty: 1 + Int(generator.next() % 2), ref: "r\(generator.next() % 20)")
                }
                let before = f.room.snapshot()
                let authority = f.room.authority(of: identity)
                let effects = f.apply(command, from: member)
                let after = f.room.snapshot()
                if authority < command.requiredAuthority {
                    #expect(before == after, "round \(round) step \(step): \(identity.user) changed the room with \(command.name)")
                    #expect(effects.contains { if case .send(member, .error(.forbidden, _, _)) = $0 { true } else { false } })
                }
                if after.owner != "seller" { Issue.record("the owner changed") }
                #expect(!after.banned.contains("seller") && after.muted["seller"] == nil, "the owner is never banned or muted")
                for product in f.room.allProducts {
                    #expect(product.left >= 0 && product.left <= product.stock, "round \(round): \(product.sku) oversold")
                }
            }
        }
    }
}
