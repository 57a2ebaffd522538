import Foundation
import JSON
import Testing

@testable import HometownLoad

@Suite("hometown-load: histograms, scenarios, reports")
struct LoadToolTests {
    @Test func histogramPercentilesStayWithinTheBucketError() {
        var histogram = LatencyHistogram()
        for micros in 1...10_000 { histogram.record(seconds: Double(micros) / 1_000_000) }
        #expect(histogram.total == 10_000)
        for (q, exact) in [(0.5, 5.0), (0.9, 9.0), (0.99, 9.9)] {
            let value = histogram.percentile(q)
            #expect(value >= exact && value <= exact * 1.13, "q \(q): \(value) ms vs \(exact) ms")
        }
        #expect(histogram.percentile(1) == 10.0)
        // Bucket bounds cover every value exactly once, in order.
        var previous = -1
        for micros: UInt64 in [0, 1, 7, 8, 9, 15, 16, 17, 1000, 1_000_000, 1 << 35] {
            let bucket = LatencyHistogram.bucket(micros)
            #expect(bucket >= previous)
            #expect(LatencyHistogram.upperBound(bucket) >= micros)
            previous = bucket
        }
    }

    @Test func histogramsMergeAcrossProcessesThroughJSON() throws {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        for index in 0..<100 { a.record(seconds: Double(index) / 1000) }
        for index in 100..<200 { b.record(seconds: Double(index) / 1000) }
        var merged = LatencyHistogram(json: try JSONParser.parse(serialize(a.json)))!
        merged.merge(LatencyHistogram(json: try JSONParser.parse(serialize(b.json)))!)
        var direct = a
        direct.merge(b)
        #expect(merged.total == 200)
        #expect(merged.percentile(0.5) == direct.percentile(0.5))
        #expect(merged.percentile(0.99) == direct.percentile(0.99))
    }

    @Test func scenariosParseAndRoomsFollowTheDistribution() throws {
        let text =
            #"{"name":"t","viewers":1000,"rooms":{"count":10,"distribution":"zipf","zipf_s":1.2},"#
            + #""phases":[{"kind":"ramp","rate":100},{"kind":"hold","seconds":2}],"streamer":{"products":[{"sku":"a","stock":5}]}}"#
        let scenario = try Scenario.load(Array(text.utf8))
        #expect(scenario.phases.map(\.kind) == [.ramp, .hold])
        #expect(scenario.saleSKU == "a")
        let rooms = scenario.roomAssignments()
        #expect(rooms.count == 1000)
        let hot = rooms.filter { $0 == 0 }.count
        let cold = rooms.filter { $0 == 9 }.count
        #expect(hot > 3 * cold, "room 0 is the hot room (\(hot) vs \(cold))")
        var uniform = scenario
        uniform.distribution = .uniform
        #expect(Set(uniform.roomAssignments().map { $0 }).count == 10)
        #expect(throws: Scenario.Error.self) { try Scenario.load(Array(#"{"viewers":5,"phases":[{"kind":"dance"}]}"#.utf8)) }
        #expect(throws: Scenario.Error.self) { try Scenario.load(Array(#"{"viewers":5,"phases":[]}"#.utf8)) }
    }

    @Test func shippedScenariosParse() throws {
        for name in ["smoke", "festival", "flash-sale"] {
            let path = #filePath.replacingOccurrences("Tests/HometownLoadTests/LoadToolTests.swift", "Config/\(name).json")
            let bytes = try #require(readFile(path))
            let scenario = try Scenario.load(bytes)
            #expect(scenario.name == name)
            #expect(scenario.viewers + scenario.roomCount <= 18_000)
        }
    }

    @Test func mergedReportsFailWhenAnyPartFailedAndKeepEveryCheckName() throws {
        func report(_ ok: Bool) -> Report {
            var acks = LatencyHistogram()
            acks.record(seconds: 0.004)
            return Report(
                scenario: "s", durationSeconds: 1, target: 10, connected: 10, histograms: [("order_ack", acks)],
                timeline: [(1, 10, 5, 1, 10), (2, 30, 9, 2, 10)], errors: ["e": 1],
                checks: [
                    "no_oversell", "within_limits", "orders_answered", "idempotent_retries", "no_lost_comments", "comment_order",
                    "viewer_count",
                ]
                .map { Report.Check(name: $0, ok: $0 != "no_lost_comments" || ok, detail: "d") },
                thresholds: [])
        }
        let merged = Report.merge([report(true), report(false)])
        #expect(!merged.passed)
        #expect(merged.errors["e"] == 2)
        #expect(merged.target == 20)
        let json = try JSONParser.parse(serialize(merged.json))
        let names = json["checks"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(
            Set(names) == [
                "no_oversell", "within_limits", "orders_answered", "idempotent_retries", "no_lost_comments", "comment_order",
                "viewer_count",
            ])
        #expect(json["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "no_lost_comments" }?["ok"]?.boolValue == false)
        #expect(merged.html.contains("<svg") && !merged.html.contains("http"))
    }

    @Test func saleChecksAreRecomputedFromTheWholeRun() {
        // Two worker processes each saw 6 units accepted of a 10-unit stock: fine alone, an
        // oversell together. The merge must add the numbers, not AND the verdicts.
        func part(_ ids: [String], streamers: Bool) -> Report {
            var report = Report(
                scenario: "s", durationSeconds: 1, target: 5, connected: 5, histograms: [], timeline: [], errors: [:],
                checks: [.init(name: "no_oversell", ok: true, detail: "part"), .init(name: "order_stream", ok: true, detail: "part")],
                thresholds: [])
            report.sale.stockPerRoom = 10
            report.sale.rooms = [0: (ids.count, 20)]
            report.sale.acceptedIDs = Set(ids)
            report.sale.streamedIDs = streamers ? Set((0..<12).map { "o\($0)" }) : []
            report.sale.hasStreamers = streamers
            return report
        }
        let merged = Report.merge([part((0..<6).map { "o\($0)" }, streamers: true), part((6..<12).map { "o\($0)" }, streamers: false)])
        #expect(merged.checks.first { $0.name == "no_oversell" }?.ok == false)
        #expect(merged.checks.first { $0.name == "order_stream" }?.ok == true)
        #expect(!merged.passed)
    }

    @Test func stockIsJudgedPerRoom() throws {
        // A hot room sold out exactly; a quiet one (demand below its stock) did not: that passes.
        var sale = Report.SaleTotals()
        sale.stockPerRoom = 300
        sale.rooms = [0: (300, 2_000), 1: (40, 40)]
        #expect(Report.saleChecks(sale, scope: "t")[0].ok)
        // A room whose demand exceeded its stock but did not sell out, fails — even if the
        // totals across rooms look fine.
        sale.rooms = [0: (250, 2_000), 1: (50, 50)]
        #expect(!Report.saleChecks(sale, scope: "t")[0].ok)
        sale.rooms = [0: (301, 2_000)]
        #expect(!Report.saleChecks(sale, scope: "t")[0].ok)
        // Per-room numbers survive the JSON round trip a merge goes through.
        sale.rooms = [0: (300, 2_000), 3: (7, 9)]
        let back = Report.SaleTotals(json: try JSONParser.parse(serialize(sale.json)))
        #expect(back.stockPerRoom == 300 && back.rooms[3]?.accepted == 7 && back.rooms[3]?.demand == 9)
    }

    func serialize(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.value(value)
        return writer.bytes
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        self.replacingOccurrences(of: target, with: replacement)
    }
}
