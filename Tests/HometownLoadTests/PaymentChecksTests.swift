import Testing

@testable import HometownLoad

@Suite("hometown-load: payment behaviour and the end-of-run audit")
struct PaymentChecksTests {
    @Test func buyersSplitIntoNeverLateAndPromptByTheScenarioShares() throws {
        var scenario = try Scenario.load(
            Array(
                #"{"viewers": 10, "phases": [{"kind": "hold"}], "payment": {"window": 4, "never_pay": 0.3, "pay_late": 0.1}}"#.utf8))
        #expect(scenario.paymentWindow == 4 && scenario.payWithin == 2)
        var counts: [Payer.Kind: Int] = [:]
        for index in 0..<20_000 { counts[Payer.kind(of: index, scenario), default: 0] += 1 }
        #expect(abs(Double(counts[.never] ?? 0) / 20_000 - 0.3) < 0.02)
        #expect(abs(Double(counts[.late] ?? 0) / 20_000 - 0.1) < 0.02)
        scenario.neverPay = 0
        scenario.payLate = 0
        #expect((0..<1000).allSatisfy { Payer.kind(of: $0, scenario) == .prompt })
        #expect(throws: Scenario.Error.self) {
            try Scenario.load(Array(#"{"phases": [{"kind": "hold"}], "payment": {"window": 4, "never_pay": 0.8, "pay_late": 0.3}}"#.utf8))
        }
    }

    func order(_ id: String, _ state: String, qty: Int = 1, payBy: Int64? = nil, sku: String = "orange") -> SaleAudit.StoredOrder {
        SaleAudit.StoredOrder(id: id, sku: sku, state: state, qty: qty, payBy: payBy)
    }

    @Test func stockIsConservedOnlyWhenEveryUnitIsAccountedFor() {
        let farFuture = Int64.max / 2
        let orders = [
            self.order("a", "paid", qty: 2), self.order("b", "accepted", payBy: farFuture), self.order("c", "cancelled"),
            self.order("d", "accepted"), self.order("x", "paid", sku: "apple"),
        ]
        let good = SaleAudit.conservation([("farm", orders, ["orange": (stock: 10, left: 6), "apple": (stock: 1, left: 0)])], problems: [])
        #expect(good.ok, "\(good.detail)")
        #expect(good.detail.contains("1 units came back"))
        // One unit too many held: oversold (or a unit never given back).
        let oversold = SaleAudit.conservation(
            [("farm", orders, ["orange": (stock: 10, left: 7), "apple": (stock: 1, left: 0)])], problems: [])
        #expect(!oversold.ok && oversold.detail.contains("!= stock 10"))
        // An order past its deadline still unpaid: its expiry never happened.
        let stale = SaleAudit.conservation(
            [("farm", [self.order("e", "accepted", payBy: 1000)], ["orange": (stock: 1, left: 0)])], problems: [])
        #expect(!stale.ok && stale.detail.contains("past their deadline"))
    }

    @Test func aSoldOutRefRetriedLaterMayBeAcceptedAndCountsAsAccepted() {
        var attempt = OrderAttempt(ref: "r1", sentAt: 0, retriesLeft: 1)
        attempt.answers = [("sold_out", nil), ("accepted", "farm-e-9")]
        #expect(attempt.accepted && attempt.acceptedID == "farm-e-9")
        attempt.answers = [("sold_out", nil)]
        #expect(!attempt.accepted)
    }
}
