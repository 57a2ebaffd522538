import LiveRoom
import Testing

@Suite("Orders are acknowledged only once durable; restore after a restart")
struct DurabilityRulesTests {
    @Test func nothingIsAcknowledgedBeforeTheCommit() {
        let f = RoomFixture(stock: 5, limit: 5)
        let a = f.join("a")
        let effects = f.room.apply(.order(sku: "bamboo", qty: 1, ref: "r1"), from: a, now: f.now)
        #expect(!effects.contains { if case .send(_, .orderResult) = $0 { return true } else { return false } })
        #expect(!effects.contains { if case .staff(.order) = $0 { return true } else { return false } })
        guard case .commit(let order)? = effects.first else {
            Issue.record("expected a commit")
            return
        }
        // A retry while the commit is in flight waits for the same commit: no second reservation.
        #expect(f.room.apply(.order(sku: "bamboo", qty: 1, ref: "r1"), from: a, now: f.now).isEmpty)
        #expect(f.room.product("bamboo")?.left == 4)
        let committed = f.room.orderCommitted(order, now: f.now)
        #expect(committed.filter { $0 == .send(a, .orderResult(ref: "r1", status: .accepted, order: order.id)) }.count == 2)
        #expect(committed.contains(.staff(.order(order))))
    }

    @Test func aFailedCommitGivesTheStockBackAndTheRefMayBeRetried() {
        let f = RoomFixture(stock: 1, limit: 1)
        let a = f.join("a")
        f.journalWorks = false
        #expect(f.order(a, ref: "r1").0 == .unavailable)
        #expect(f.room.product("bamboo")?.left == 1)
        #expect(f.room.product("bamboo")?.sale.state == .live)
        #expect(f.room.bought("bamboo", by: "a") == 0)
        f.journalWorks = true
        #expect(f.order(a, ref: "r1").0 == .accepted)
        #expect(f.room.product("bamboo")?.left == 0)
    }

    @Test func restoreRebuildsStockLimitsAndRefs() {
        let f = RoomFixture(stock: 10, limit: 3)
        let a = f.join("a")
        let b = f.join("b")
        var orders: [Order] = []
        for (member, ref, qty) in [(a, "a1", 2), (b, "b1", 3), (a, "a2", 1)] {
            let effects = f.room.apply(.order(sku: "bamboo", qty: qty, ref: ref), from: member, now: f.now)
            for case .commit(let order) in effects {
                orders.append(order)
                _ = f.room.orderCommitted(order, now: f.now)
            }
        }
        let restored = Room.restore(f.room.snapshot(), orders: orders, epoch: "E2", now: f.now + 1000)
        #expect(restored.product("bamboo")?.left == 4)
        #expect(restored.product("bamboo")?.sale.state == .live)
        #expect(restored.bought("bamboo", by: "a") == 3)
        #expect(restored.live && restored.title == "Winter bamboo")
        let buyer = 7
        _ = restored.join(buyer, as: Identity(user: "a", name: "a", role: .viewer), now: f.now + 1000)
        // The same ref after the restart: the same order, no stock taken.
        #expect(
            restored.apply(.order(sku: "bamboo", qty: 2, ref: "a1"), from: buyer, now: f.now + 1000)
                == [.send(buyer, .orderResult(ref: "a1", status: .accepted, order: orders[0].id))])
        // Limits still count earlier orders.
        let more = restored.apply(.order(sku: "bamboo", qty: 1, ref: "a3"), from: buyer, now: f.now + 1000)
        #expect(
            more == [
                .record(.orderRefused(reason: "limit_reached")), .send(buyer, .orderResult(ref: "a3", status: .limitReached, order: nil)),
            ])
        #expect(restored.product("bamboo")?.left == 4)
    }

    @Test func aSaleWhoseEndPassedDuringTheOutageEnds() {
        let f = RoomFixture(stock: 10, limit: 1, startSale: false)
        _ = f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: nil, seconds: 60), from: f.streamer)
        let restored = Room.restore(f.room.snapshot(), orders: [], epoch: "E2", now: f.now + 120_000)
        let effects = restored.tick(now: f.now + 120_000)
        #expect(
            effects.contains { if case .broadcast(.sale(_, let sale), false) = $0 { return sale.state == .ended } else { return false } })
    }

    @Test func restoringASoldOutSaleKeepsItSoldOut() {
        let snapshot = RoomSnapshot(
            id: "r", owner: "s", title: "t", live: true, slowMode: 0, pinned: nil,
            products: [Product(sku: "x", title: "x", price: 1, stock: 2, sale: FlashSale(state: .live, limit: 5, startsAt: 0))])
        let orders = [Order(id: "E-1", room: "r", sku: "x", user: "u", name: "u", qty: 2, price: 1, ref: "q", ts: 5)]
        let room = Room.restore(snapshot, orders: orders, epoch: "E2", now: 10)
        #expect(room.product("x")?.left == 0)
        #expect(room.product("x")?.sale.state == .soldOut)
    }

    @Test func orderIDsAreUniqueAcrossRoomsOfOneServer() {
        // Every room of a process shares the epoch; ids must still never collide in the store.
        let first = Room(id: "a", epoch: "E", now: 0)
        let second = Room(id: "b", epoch: "E", now: 0)
        var ids: [String] = []
        for room in [first, second] {
            room.owner = "s"
            _ = room.join(1, as: Identity(user: "s", name: "s", role: .streamer), now: 0)
            _ = room.apply(.open(title: nil), from: 1, now: 0)
            _ = room.apply(.productAdd(sku: "x", title: "x", price: 1, stock: 1), from: 1, now: 0)
            _ = room.apply(.saleStart(sku: "x", limit: 1, countdown: nil, seconds: nil), from: 1, now: 0)
            _ = room.join(2, as: Identity(user: "u", name: "u", role: .viewer), now: 0)
            for case .commit(let order) in room.apply(.order(sku: "x", qty: 1, ref: "r"), from: 2, now: 0) { ids.append(order.id) }
        }
        #expect(ids.count == 2 && Set(ids).count == 2)
    }
}
