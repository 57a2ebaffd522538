import BuildInfo
import Glibc
import JSON

/// The end of a run: correctness checks, latency distributions, throughput over time, errors —
/// as text, as JSON (mergeable across processes), and as a self-contained HTML page.
struct Report {
    struct Check {
        var name: String
        var ok: Bool
        var detail: String
    }

    var scenario: String
    var durationSeconds: Double
    var target: Int
    var connected: Int
    var histograms: [(name: String, histogram: LatencyHistogram)]
    var timeline: [(t: Double, messagesIn: Int, messagesOut: Int, orders: Int, connected: Int)]
    var errors: [String: Int]
    var checks: [Check]
    var thresholds: [Check]
    /// Raw sale numbers, so checks that need the whole run (several worker processes) can be
    /// recomputed when reports merge.
    var sale = SaleTotals()
    /// How the run recovered from failures: reconnects, orders resent with their ref, `unavailable`
    /// answers (summed across worker processes).
    var counters: [String: Int] = [:]
    /// The run this report (or part of one) belongs to: worker processes of one run share it.
    var runID = ""

    struct SaleTotals {
        /// Units each room's streamer put on sale.
        var stockPerRoom = 0
        /// Per room: units accepted, and units its buyers wanted (each up to the limit).
        var rooms: [Int: (accepted: Int, demand: Int)] = [:]
        var acceptedIDs: Set<String> = []
        var streamedIDs: Set<String> = []
        /// Whether this report's process ran the streamers (and so saw the order stream).
        var hasStreamers = true
        /// The sale had a payment window: units of unpaid orders come back and are sold again, so
        /// more units than the stock may be accepted over the sale (`stock_conserved` judges it).
        var returnable = false

        var acceptedUnits: Int { self.rooms.values.reduce(0) { $0 + $1.accepted } }
        var demand: Int { self.rooms.values.reduce(0) { $0 + $1.demand } }

        mutating func add(_ other: SaleTotals) {
            self.stockPerRoom = max(self.stockPerRoom, other.stockPerRoom)
            for (room, sale) in other.rooms {
                let old = self.rooms[room] ?? (0, 0)
                self.rooms[room] = (old.accepted + sale.accepted, old.demand + sale.demand)
            }
            self.acceptedIDs.formUnion(other.acceptedIDs)
            self.streamedIDs.formUnion(other.streamedIDs)
            self.hasStreamers = self.hasStreamers || other.hasStreamers
            self.returnable = self.returnable || other.returnable
        }

        var json: JSONValue {
            .object([
                ("stock_per_room", .int(Int64(self.stockPerRoom))),
                (
                    "rooms",
                    .array(
                        self.rooms.keys.sorted().map { room in
                            .array([.int(Int64(room)), .int(Int64(self.rooms[room]!.accepted)), .int(Int64(self.rooms[room]!.demand))])
                        })
                ),
                ("has_streamers", .bool(self.hasStreamers)),
                ("returnable", .bool(self.returnable)),
                ("accepted_ids", .array(self.acceptedIDs.sorted().map { .string($0) })),
                ("streamed_ids", .array(self.streamedIDs.sorted().map { .string($0) })),
            ])
        }

        init() {}

        init(json: JSONValue?) {
            self.stockPerRoom = Int(json?["stock_per_room"]?.intValue ?? 0)
            for entry in json?["rooms"]?.arrayValue ?? [] {
                guard let values = entry.arrayValue, values.count == 3, let room = values[0].intValue,
                    let accepted = values[1].intValue, let demand = values[2].intValue
                else { continue }
                self.rooms[Int(room)] = (Int(accepted), Int(demand))
            }
            self.hasStreamers = json?["has_streamers"]?.boolValue ?? true
            self.returnable = json?["returnable"]?.boolValue ?? false
            self.acceptedIDs = Set((json?["accepted_ids"]?.arrayValue ?? []).compactMap(\.stringValue))
            self.streamedIDs = Set((json?["streamed_ids"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
    }

    var passed: Bool { self.checks.allSatisfy(\.ok) && self.thresholds.allSatisfy(\.ok) }

    /// The two checks that need the whole run's numbers. Stock is per room, so is the verdict:
    /// no room sells more than its stock, and a room whose buyers wanted at least its stock sells
    /// exactly that (a quiet room of a Zipf run may not sell out, and need not).
    static func saleChecks(_ sale: SaleTotals, scope: String) -> [Check] {
        let stock = sale.stockPerRoom
        // With a payment window, units come back and sell again: accepted units may exceed the
        // stock; whether units were ever held twice is `stock_conserved`'s question.
        let oversold = sale.returnable ? [:] : sale.rooms.filter { $0.value.accepted > stock }
        let short = sale.rooms.filter {
            $0.value.demand >= stock && (sale.returnable ? $0.value.accepted < stock : $0.value.accepted != stock)
        }
        let soldOutRooms = sale.rooms.values.filter { $0.demand >= stock }.count
        var detail =
            (sale.returnable
                ? "accepted \(sale.acceptedUnits) units over the sale, unpaid ones returned and sold again (\(scope)); demand \(sale.demand); "
                : "accepted \(sale.acceptedUnits) units, at most \(stock) per room (\(scope)); demand \(sale.demand); ")
            + "\(soldOutRooms) room(s) with demand at or above stock had to sell \(sale.returnable ? "at least" : "exactly") \(stock)"
        if let (room, numbers) = oversold.first ?? short.first {
            detail += " — room \(room) accepted \(numbers.accepted) with demand \(numbers.demand)"
        }
        return [
            Check(name: "no_oversell", ok: oversold.isEmpty && short.isEmpty, detail: detail),
            Check(
                name: "order_stream", ok: sale.acceptedIDs.isSubset(of: sale.streamedIDs),
                detail:
                    "streamers saw \(sale.acceptedIDs.intersection(sale.streamedIDs).count) of \(sale.acceptedIDs.count) accepted orders"),
        ]
    }

    /// The correctness checks of one run, from what every simulated user saw.
    static func checks(_ engine: LoadEngine, _ stats: LoopStats) -> [Check] {
        let scenario = engine.scenario
        var checks: [Check] = []
        let buyers = engine.viewers.filter(\.ordered)
        let attempts = buyers.flatMap(\.orders)
        let accepted = attempts.filter(\.accepted)
        let sale = Self.saleTotals(engine)
        let scope = "\(scenario.roomCount) room(s)"
        checks.append(Self.saleChecks(sale, scope: scope)[0])
        let overLimit = buyers.filter { buyer in
            buyer.orders.filter(\.accepted).count * scenario.buyQuantity > scenario.saleLimit
        }
        checks.append(
            Check(
                name: "within_limits", ok: overLimit.isEmpty,
                detail: "\(overLimit.count) of \(buyers.count) buyers were accepted above the per-buyer limit of \(scenario.saleLimit) "
                    + "(\(attempts.count) orders, up to \(scenario.ordersPerBuyer) per buyer)"))
        let unanswered = attempts.filter { $0.answers.isEmpty }
        // A flash phase where nobody could order means the sale never went live: not a pass.
        let expectedOrders =
            scenario.phases.contains { $0.kind == .flash } && scenario.buyerFraction > 0
            && scenario.saleSKU != nil && engine.viewers.contains(where: \.buyer)
        let noneSent = expectedOrders && attempts.isEmpty
        checks.append(
            Check(
                name: "orders_answered", ok: unanswered.isEmpty && !noneSent,
                detail: noneSent
                    ? "no order was sent: the sale never went live for any buyer"
                    : "\(attempts.count - unanswered.count) of \(attempts.count) orders answered"))
        let retried = accepted.filter { $0.answers.count > 1 }
        let mismatched = retried.filter { attempt in
            // Once accepted, a ref is that order forever.
            attempt.answers.drop { $0.status != "accepted" }.contains { $0.status != "accepted" || $0.id != attempt.acceptedID }
        }
        let acceptedIDs = Set(accepted.compactMap(\.acceptedID))
        checks.append(
            Check(
                name: "idempotent_retries", ok: mismatched.isEmpty && acceptedIDs.count == accepted.count,
                detail:
                    "\(retried.count) accepted refs retried, \(mismatched.count) answered differently; \(acceptedIDs.count) distinct order ids"
            ))
        checks.append(Self.saleChecks(sale, scope: scope)[1])
        checks.append(
            Check(
                name: "no_lost_comments", ok: stats.lostComments == 0,
                detail: "\(stats.lostComments) shown comments missing from viewers' streams (seq gaps while connected)"))
        checks.append(
            Check(
                name: "comment_order", ok: stats.reorderedComments == 0,
                detail: "\(stats.reorderedComments) comments out of seq order or duplicated"))
        let wrongCounts = engine.viewerCountSamples.filter { $0.reported != $0.actual }
        checks.append(
            Check(
                name: "viewer_count", ok: wrongCounts.isEmpty,
                detail: engine.viewerCountSamples.isEmpty
                    ? "no hold phase to sample"
                    : "\(engine.viewerCountSamples.count - wrongCounts.count) of \(engine.viewerCountSamples.count) viewers saw the true count"
                        + (wrongCounts.first.map { " (e.g. room \($0.room): reported \($0.reported), actual \($0.actual))" } ?? "")))
        return checks
    }

    static func saleTotals(_ engine: LoadEngine) -> SaleTotals {
        let scenario = engine.scenario
        let buyers = engine.viewers.filter(\.ordered)
        let accepted = buyers.flatMap(\.orders).filter(\.accepted)
        var totals = SaleTotals()
        totals.stockPerRoom = scenario.products.first(where: { $0.sku == scenario.saleSKU })?.stock ?? 0
        // What a buyer wants: as much as the limit allows, or as many orders as it places.
        let wanted = min(scenario.buyQuantity * scenario.ordersPerBuyer, scenario.saleLimit)
        for buyer in buyers {
            let old = totals.rooms[buyer.room] ?? (0, 0)
            totals.rooms[buyer.room] = (old.accepted + buyer.orders.filter(\.accepted).count * scenario.buyQuantity, old.demand + wanted)
        }
        totals.acceptedIDs = Set(accepted.compactMap(\.acceptedID))
        totals.streamedIDs = engine.streamers.reduce(into: Set<String>()) { $0.formUnion($1.streamedOrders) }
        totals.hasStreamers = !engine.streamers.isEmpty
        totals.returnable = scenario.paymentWindow > 0
        return totals
    }

    // MARK: - Output

    var text: String {
        var out =
            "hometown-load \(BuildInfo.version) report: \(self.scenario), \(format(self.durationSeconds)) s, \(self.connected)/\(self.target) viewers connected\n"
        for (name, histogram) in self.histograms {
            let parts = histogram.summary.map { "\($0.0) \(format($0.1)) ms" }.joined(separator: "  ")
            out += "  \(name.padded(16)) n=\(histogram.total)  \(parts)\n"
        }
        if !self.errors.isEmpty {
            out += "  errors: " + self.errors.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "\n"
        }
        if !self.counters.isEmpty {
            out +=
                "  recovery: " + self.counters.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                + "\n"
        }
        for check in self.checks + self.thresholds {
            out += "  check \(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)\n"
        }
        out += self.passed ? "PASS\n" : "FAIL\n"
        return out
    }

    var json: JSONValue {
        .object([
            ("scenario", .string(self.scenario)),
            ("duration_s", .double(self.durationSeconds)),
            ("connections", .object([("target", .int(Int64(self.target))), ("connected", .int(Int64(self.connected)))])),
            ("latency", .object(self.histograms.map { ($0.name, $0.histogram.json) })),
            (
                "throughput",
                .array(
                    self.timeline.map {
                        .object([
                            ("t", .double($0.t)), ("messages_in", .int(Int64($0.messagesIn))),
                            ("messages_out", .int(Int64($0.messagesOut))),
                            ("orders", .int(Int64($0.orders))), ("connected", .int(Int64($0.connected))),
                        ])
                    })
            ),
            ("errors", .object(self.errors.sorted(by: { $0.key < $1.key }).map { ($0.key, .int(Int64($0.value))) })),
            (
                "checks",
                .array(self.checks.map { .object([("name", .string($0.name)), ("ok", .bool($0.ok)), ("detail", .string($0.detail))]) })
            ),
            (
                "thresholds",
                .array(self.thresholds.map { .object([("name", .string($0.name)), ("ok", .bool($0.ok)), ("detail", .string($0.detail))]) })
            ),
            ("sale", self.sale.json),
            ("counters", .object(self.counters.sorted(by: { $0.key < $1.key }).map { ($0.key, .int(Int64($0.value))) })),
            ("run_id", .string(self.runID)),
            ("tool_version", .string(BuildInfo.version)),
            ("passed", .bool(self.passed)),
        ])
    }

    /// Reads a report written by `json` (for `merge`).
    init?(json: JSONValue) {
        guard let scenario = json["scenario"]?.stringValue else { return nil }
        self.scenario = scenario
        self.durationSeconds = json["duration_s"]?.doubleValue ?? 0
        self.target = Int(json["connections"]?["target"]?.intValue ?? 0)
        self.connected = Int(json["connections"]?["connected"]?.intValue ?? 0)
        self.histograms = (json["latency"]?.objectFields ?? []).compactMap { field in
            LatencyHistogram(json: field.value).map { (field.key, $0) }
        }
        self.timeline = (json["throughput"]?.arrayValue ?? []).map {
            (
                $0["t"]?.doubleValue ?? 0, Int($0["messages_in"]?.intValue ?? 0), Int($0["messages_out"]?.intValue ?? 0),
                Int($0["orders"]?.intValue ?? 0), Int($0["connected"]?.intValue ?? 0)
            )
        }
        self.errors = Dictionary(uniqueKeysWithValues: (json["errors"]?.objectFields ?? []).map { ($0.key, Int($0.value.intValue ?? 0)) })
        func checks(_ key: String) -> [Check] {
            (json[key]?.arrayValue ?? []).map {
                Check(name: $0["name"]?.stringValue ?? "?", ok: $0["ok"]?.boolValue ?? false, detail: $0["detail"]?.stringValue ?? "")
            }
        }
        self.checks = checks("checks")
        self.thresholds = checks("thresholds")
        self.sale = SaleTotals(json: json["sale"])
        self.runID = json["run_id"]?.stringValue ?? ""
        self.counters = Dictionary(
            uniqueKeysWithValues: (json["counters"]?.objectFields ?? []).map { ($0.key, Int($0.value.intValue ?? 0)) })
    }

    init(
        scenario: String, durationSeconds: Double, target: Int, connected: Int,
        histograms: [(name: String, histogram: LatencyHistogram)],
        timeline: [(t: Double, messagesIn: Int, messagesOut: Int, orders: Int, connected: Int)], errors: [String: Int],
        checks: [Check], thresholds: [Check]
    ) {
        self.scenario = scenario
        self.durationSeconds = durationSeconds
        self.target = target
        self.connected = connected
        self.histograms = histograms
        self.timeline = timeline
        self.errors = errors
        self.checks = checks
        self.thresholds = thresholds
    }

    /// Several processes' reports as one: histograms add bucket by bucket, counts add, a check
    /// passes only if it passed everywhere.
    static func merge(_ reports: [Report]) -> Report {
        var histograms: [(name: String, histogram: LatencyHistogram)] = []
        for report in reports {
            for (name, histogram) in report.histograms {
                if let index = histograms.firstIndex(where: { $0.name == name }) {
                    histograms[index].histogram.merge(histogram)
                } else {
                    histograms.append((name, histogram))
                }
            }
        }
        var timeline: [Int: (t: Double, messagesIn: Int, messagesOut: Int, orders: Int, connected: Int)] = [:]
        for report in reports {
            for point in report.timeline {
                let second = Int(point.t)
                let old = timeline[second] ?? (Double(second), 0, 0, 0, 0)
                timeline[second] = (
                    old.t, old.messagesIn + point.messagesIn, old.messagesOut + point.messagesOut,
                    old.orders + point.orders, old.connected + point.connected
                )
            }
        }
        func combine(_ lists: [[Check]]) -> [Check] {
            var merged: [Check] = []
            var details: [String: [String]] = [:]
            for list in lists {
                for check in list {
                    details[check.name, default: []].append(check.detail)
                    if let index = merged.firstIndex(where: { $0.name == check.name }) {
                        // Keep the first failure's detail if the numbers cannot be added up.
                        if merged[index].ok && !check.ok { merged[index].detail = check.detail }
                        merged[index].ok = merged[index].ok && check.ok
                    } else {
                        merged.append(check)
                    }
                }
            }
            // Whole-run numbers: details that say the same thing with other numbers are added
            // up ("86 of 86 orders answered" + "90 of 90" = "176 of 176 orders answered").
            return merged.map { check in
                var check = check
                if let parts = details[check.name], parts.count > 1 {
                    check.detail = Self.sumNumbers(in: parts) ?? check.detail + " (first of \(parts.count) parts)"
                }
                return check
            }
        }
        var merged = Report(
            scenario: Set(reports.map(\.scenario)).sorted().joined(separator: "+"),
            durationSeconds: reports.map(\.durationSeconds).max() ?? 0,
            target: reports.reduce(0) { $0 + $1.target }, connected: reports.reduce(0) { $0 + $1.connected },
            histograms: histograms, timeline: timeline.keys.sorted().map { timeline[$0]! },
            errors: reports.reduce(into: [:]) { $0.merge($1.errors, uniquingKeysWith: +) },
            checks: combine(reports.map(\.checks)), thresholds: combine(reports.map(\.thresholds)))
        merged.counters = reports.reduce(into: [:]) { $0.merge($1.counters, uniquingKeysWith: +) }
        // Separate runs (different run ids) are judged each on its own: their rooms are not the
        // same rooms, so sale totals are not added up across them; every run's verdict stands.
        let runs = Set(reports.map(\.runID))
        merged.runID = runs.count == 1 ? runs.first! : ""
        guard runs.count == 1 else {
            merged.scenario += " (\(runs.count) separate runs)"
            return merged
        }
        // Parts of one run (worker processes): the sale checks need the sums, not an AND.
        var sale = SaleTotals()
        sale.hasStreamers = false
        for report in reports { sale.add(report.sale) }
        merged.sale = sale
        if reports.count > 1 && sale.hasStreamers {
            for check in Self.saleChecks(sale, scope: "all \(reports.count) parts") {
                if let index = merged.checks.firstIndex(where: { $0.name == check.name }) { merged.checks[index] = check }
            }
        }
        return merged
    }
}

extension Report {
    /// The details added up number by number when they have the same words ("3 of 4 x; 1 y" and
    /// "5 of 5 x; 0 y" give "8 of 9 x; 1 y"); nil when their words differ.
    static func sumNumbers(in details: [String]) -> String? {
        /// The text as runs of digits (numbers) and runs of anything else (words), in order.
        func segments(_ text: String) -> [(isNumber: Bool, text: String)] {
            var out: [(isNumber: Bool, text: String)] = []
            for character in text {
                let digit = character.isASCII && character.isNumber
                if let last = out.last, last.isNumber == digit {
                    out[out.count - 1].text.append(character)
                } else {
                    out.append((digit, String(character)))
                }
            }
            return out
        }
        let parts = details.map(segments)
        guard let first = parts.first, first.contains(where: \.isNumber) else { return nil }
        for part in parts {
            guard part.count == first.count else { return nil }
            for (a, b) in zip(part, first) where a.isNumber != b.isNumber || (!a.isNumber && a.text != b.text) { return nil }
        }
        return first.indices.map { index in
            guard first[index].isNumber else { return first[index].text }
            return String(parts.reduce(0) { $0 + (Int($1[index].text) ?? 0) })
        }.joined()
    }
}

extension String {
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - self.count)) }
}
