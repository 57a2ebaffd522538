import LiveRoom
import Testing

/// The room says itself what must be stored before it is announced (`.persist`, first) and what a
/// command came to (`.record`): the gateway carries these out and reads nothing off other effects.
@Suite("The room asks for saves and reports outcomes")
struct PersistAndOutcomeTests {
    func persisted(_ effects: [RoomEffect]) -> RoomSnapshot? {
        if case .persist(let snapshot)? = effects.first { return snapshot }
        return nil
    }

    @Test func everyChangeOfDurableStateLeadsWithASnapshotOfTheNewState() {
        let f = RoomFixture(stock: 5, limit: 5, startSale: false)
        let commands: [RoomCommand] = [
            .open(title: "New title"),
            .productAdd(sku: "apples", title: "Apples", price: 100, stock: 3),
            .restock(sku: "apples", qty: 2),
            .pin(sku: "apples"),
            .saleStart(sku: "apples", limit: 1, countdown: nil, seconds: nil),
            .slowMode(seconds: 5),
            .saleStop(sku: "apples"),
            .close,
        ]
        for command in commands {
            let effects = f.room.apply(command, from: f.streamer, now: f.now)
            #expect(self.persisted(effects) == f.room.snapshot(), "\(command.name)")
            #expect(effects.dropFirst().allSatisfy { if case .persist = $0 { false } else { true } }, "one save per call")
        }
    }

    @Test func chatLikesAndRefusedCommandsStoreNothing() {
        let f = RoomFixture()
        let a = f.join("a")
        #expect(self.persisted(f.room.apply(.comment(text: "hello"), from: a, now: f.now)) == nil)
        #expect(self.persisted(f.room.apply(.like, from: a, now: f.now)) == nil)
        #expect(self.persisted(f.room.apply(.pin(sku: "nope"), from: f.streamer, now: f.now)) == nil)
        #expect(self.persisted(f.room.apply(.open(title: "x"), from: a, now: f.now)) == nil, "a viewer's streamer command")
        #expect(self.persisted(f.room.tick(now: f.now + 200)) == nil)
    }

    @Test func theClockEndingASaleIsSavedButASellOutFollowsFromTheOrders() {
        let f = RoomFixture(stock: 1, limit: 1, startSale: false)
        _ = f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: nil, seconds: 10), from: f.streamer)
        let a = f.join("a")
        let saved = f.room.snapshot()
        #expect(saved.products.first?.sale.state == .live)
        let sellOut = f.room.apply(.order(sku: "bamboo", qty: 1, ref: "r"), from: a, now: f.now)
        #expect(self.persisted(sellOut) == nil, "sold out is derived from the orders, not saved")
        guard case .commit(let order)? = sellOut.first else {
            Issue.record("expected the order's commit first")
            return
        }
        // What a restart would see: the last saved snapshot (sale live) and the stored order.
        let restored = Room.restore(saved, orders: [order], epoch: "E2", now: f.now)
        #expect(restored.product("bamboo")?.sale.state == .soldOut)
        #expect(restored.product("bamboo")?.left == 0)
        #expect(self.persisted(f.room.tick(now: f.now + 10_000))?.products.first?.sale.state == .ended)
    }

    @Test func commentsAndOrdersReportWhatTheyCameTo() {
        let f = RoomFixture(stock: 1, limit: 1)
        let a = f.join("a")
        let anonymous = f.join("", anonymous: true)
        func outcomes(_ effects: [RoomEffect]) -> [RoomOutcome] {
            effects.compactMap { if case .record(let outcome) = $0 { outcome } else { nil } }
        }
        #expect(outcomes(f.room.apply(.comment(text: "hi"), from: a, now: f.now)) == [.commentAccepted(shown: true)])
        #expect(outcomes(f.room.apply(.comment(text: "  "), from: a, now: f.now)) == [.commentRefused(.badRequest)])
        #expect(outcomes(f.room.apply(.comment(text: "hi"), from: anonymous, now: f.now)) == [.commentRefused(.unauthorized)])
        #expect(outcomes(f.room.apply(.order(sku: "nope", qty: 1, ref: "x"), from: a, now: f.now)) == [.orderRefused(reason: "invalid")])
        #expect(outcomes(f.apply(.order(sku: "bamboo", qty: 1, ref: "y"), from: a)) == [], "an accepted order is counted on commit")
        #expect(
            outcomes(f.room.apply(.order(sku: "bamboo", qty: 1, ref: "z"), from: a, now: f.now)) == [.orderRefused(reason: "limit_reached")]
        )
    }
}

@Suite("A change that cannot be saved is not made")
struct FailedSaveTests {
    @Test func aFailedSaveUndoesTheChangeAndTellsWhoAsked() {
        let f = RoomFixture(stock: 5, limit: 2)
        let buyer = f.join("buyer")
        #expect(f.order(buyer, ref: "before").0 == .accepted)
        f.room.saveSucceeded()  // everything so far is stored
        let stored = f.room.snapshot()
        let changes: [RoomCommand] = [
            .productAdd(sku: "apples", title: "Apples", price: 100, stock: 3),
            .restock(sku: "bamboo", qty: 10),
            .saleStop(sku: "bamboo"),
            .saleStart(sku: "bamboo", limit: 1, countdown: 5, seconds: nil),
            .pin(sku: "bamboo"),
            .open(title: "Renamed"),
            .close,
            .slowMode(seconds: 9),
            .ban(user: "buyer"),
            .moderatorAdd(user: "helper"),
        ]
        for change in changes {
            let effects = f.room.apply(change, from: f.streamer, ref: "c1", now: f.now)
            guard case .persist = effects.first else {
                Issue.record("\(change.name) asks for a save")
                continue
            }
            let answer = f.room.saveFailed(now: f.now)
            let toldWhoAsked =
                answer.count == 1
                && answer.contains { if case .send(f.streamer, .error(.unavailable, _, "c1")) = $0 { true } else { false } }
            #expect(toldWhoAsked, "\(change.name)")
            #expect(f.room.snapshot() == stored, "\(change.name) was undone")
            #expect(f.room.product("bamboo")?.left == 4, "\(change.name): stock as stored")
            #expect(f.room.bought("bamboo", by: "buyer") == 1, "\(change.name): per-buyer counts kept")
        }
        // And the room goes on: the next order works against the stored state.
        #expect(f.order(buyer, ref: "after").0 == .accepted)
        #expect(f.room.product("bamboo")?.left == 3)
    }

    @Test func aSuccessfulSaveBecomesWhatAFailureReturnsTo() {
        let f = RoomFixture()
        f.room.saveSucceeded()
        _ = f.room.apply(.open(title: "Saved title"), from: f.streamer, now: f.now)
        f.room.saveSucceeded()
        _ = f.room.apply(.open(title: "Lost title"), from: f.streamer, now: f.now)
        _ = f.room.saveFailed(now: f.now)
        #expect(f.room.title == "Saved title")
    }
}
