import Testing

@testable import HometownLoad

@Suite("hometown-load merge: parts of one run, and separate runs")
struct ReportMergeTests {
    func report(run: String, accepted: Int, stock: Int, answered: Int, sent: Int) -> Report {
        var report = Report(
            scenario: "s", durationSeconds: 1, target: 10, connected: 10, histograms: [], timeline: [], errors: [:],
            checks: [
                .init(name: "no_oversell", ok: accepted <= stock, detail: "accepted \(accepted)"),
                .init(name: "orders_answered", ok: answered == sent, detail: "\(answered) of \(sent) orders answered"),
            ],
            thresholds: [])
        report.runID = run
        report.sale.stockPerRoom = stock
        report.sale.rooms = [0: (accepted, 3 * stock)]
        return report
    }

    /// Two separate passing runs stay passing: room 0 of one is not room 0 of the other.
    @Test func separateRunsAreJudgedEachOnItsOwn() {
        let merged = Report.merge([
            self.report(run: "a", accepted: 40, stock: 40, answered: 86, sent: 86),
            self.report(run: "b", accepted: 40, stock: 40, answered: 90, sent: 90),
        ])
        #expect(merged.passed)
        #expect(merged.scenario.contains("2 separate runs"))
        #expect(merged.checks.first { $0.name == "orders_answered" }?.detail == "176 of 176 orders answered")
    }

    /// Worker processes of one run: sale totals add up (and would catch an oversell across parts),
    /// and the details are whole-run numbers, not the first part's.
    @Test func partsOfOneRunAreAddedUp() {
        let merged = Report.merge([
            self.report(run: "r", accepted: 25, stock: 40, answered: 86, sent: 86),
            self.report(run: "r", accepted: 25, stock: 40, answered: 90, sent: 91),
        ])
        #expect(!merged.passed)
        #expect(merged.checks.first { $0.name == "no_oversell" }?.ok == false, "50 accepted of a 40-unit room")
        #expect(merged.checks.first { $0.name == "orders_answered" }?.detail == "176 of 177 orders answered")
    }

    @Test func detailsAddUpOnlyWhenTheySayTheSameThing() {
        #expect(Report.sumNumbers(in: ["3 of 4 x; 1 y", "5 of 5 x; 0 y"]) == "8 of 9 x; 1 y")
        #expect(Report.sumNumbers(in: ["3 of 4 x", "5 of 5 z"]) == nil)
        #expect(Report.sumNumbers(in: ["no numbers", "no numbers"]) == nil)
    }
}
