import Glibc
import JSON
import Transport
import WebSocketClient
import Webhooks

let runUsage = """
    usage: hometown-load run --scenario FILE [--url ws://HOST:PORT ...] [--secret S] [--report FILE] [--html FILE] [--quiet]
                             [--workers N] [--shop-token T] [--webhook-listen HOST:PORT] [--webhook-secret S]
           hometown-load merge REPORT.json... [--report FILE]

    run    plays a scenario (Config/smoke.json, festival.json, flash-sale.json) against the server,
           prints a progress line every second (unless --quiet) and a report at the end; exits 1 when
           any correctness check or threshold fails. A scenario larger than one process may open
           (about 18,000 connections here) is split over worker processes automatically;
           --workers N forces a split
           With a payment window (the scenario's "payment"), buyers pay through the shop API with
           --shop-token (or HOMETOWN_SHOP_TOKEN); --webhook-listen runs a webhook receiver that verifies
           every signature (--webhook-secret or HOMETOWN_WEBHOOK_SECRET) for the webhook_delivered check
    merge  combines JSON reports from several processes (histograms merge bucket by bucket)
    """

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return bytes
}

func writeFile(_ path: String, _ text: String) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    defer { fclose(file) }
    return fputs(text, file) >= 0
}

func writeJSON(_ value: JSONValue, to path: String) -> Bool {
    var writer = JSONWriter()
    writer.value(value)
    return writeFile(path, String(decoding: writer.bytes, as: UTF8.self) + "\n")
}

func runScenario(_ arguments: [String]) -> Int32 {
    var scenarioPath: String?
    var urls: [String] = []
    var secret: String?
    var reportPath: String?
    var htmlPath: String?
    var quiet = false
    var workers: Int?
    var worker = (index: 0, count: 1)
    var runID: String?
    var shopToken: String?
    var webhookListen: String?
    var webhookSecret: String?
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        switch flag {
        case "--quiet": quiet = true
        case "--workers":
            guard let value = rest.popFirst(), let count = Int(value), count >= 1, count <= 64 else { print(runUsage); return 2 }
            workers = count
        case "--worker":
            // Internal: this process is worker I of N (started by a parent run).
            let parts = rest.popFirst()?.split(separator: "/").compactMap { Int($0) } ?? []
            guard parts.count == 2, parts[0] >= 0, parts[0] < parts[1] else { print(runUsage); return 2 }
            worker = (parts[0], parts[1])
        case "--run-id":
            runID = rest.popFirst()
        case "--shop-token":
            shopToken = rest.popFirst()
        case "--webhook-listen":
            webhookListen = rest.popFirst()
        case "--webhook-secret":
            webhookSecret = rest.popFirst()
        case "--scenario", "--url", "--secret", "--report", "--html":
            guard let value = rest.popFirst() else { print(runUsage); return 2 }
            switch flag {
            case "--scenario": scenarioPath = value
            case "--url": urls.append(value)
            case "--secret": secret = value
            case "--report": reportPath = value
            default: htmlPath = value
            }
        default:
            print(runUsage)
            return 2
        }
    }
    guard let scenarioPath, let bytes = readFile(scenarioPath) else {
        fputs("hometown-load: --scenario FILE is required and must be readable\n\n\(runUsage)\n", stderr)
        return 2
    }
    var scenario: Scenario
    do {
        scenario = try Scenario.load(bytes)
    } catch {
        fputs("hometown-load: \(error)\n", stderr)
        return 2
    }
    if !urls.isEmpty { scenario.urls = urls }
    if let secret { scenario.secret = secret } else if let env = getenv("HOMETOWN_JWT_SECRET") { scenario.secret = String(cString: env) }
    if let shopToken {
        scenario.shopToken = shopToken
    } else if let env = getenv("HOMETOWN_SHOP_TOKEN") {
        scenario.shopToken = String(cString: env)
    }
    if scenario.paymentWindow > 0 && scenario.neverPay < 1 && scenario.shopToken.isEmpty {
        fputs("hometown-load: the scenario's buyers pay: give the shop token (--shop-token or HOMETOWN_SHOP_TOKEN)\n", stderr)
        return 2
    }
    // The shop's webhook endpoint (the parent process runs it; workers only buy and pay).
    var receiver: WebhookReceiver?
    if let webhookListen, worker.count == 1 {
        let secret = webhookSecret ?? getenv("HOMETOWN_WEBHOOK_SECRET").map { String(cString: $0) } ?? ""
        let parts = webhookListen.split(separator: ":")
        guard !secret.isEmpty, parts.count == 2, let port = UInt16(parts[1]) else {
            fputs("hometown-load: --webhook-listen HOST:PORT needs --webhook-secret (or HOMETOWN_WEBHOOK_SECRET)\n", stderr)
            return 2
        }
        let listening = WebhookReceiver(secret: secret)
        do {
            try listening.start(host: String(parts[0]), port: port)
        } catch {
            fputs("hometown-load: cannot listen for webhooks on \(webhookListen): \(error)\n", stderr)
            return 2
        }
        receiver = listening
    }
    defer { receiver?.stop() }
    let perProcess = 15_000
    let needed = (scenario.viewers + scenario.roomCount + perProcess - 1) / perProcess
    if worker.count == 1 && (workers ?? needed) > 1 {
        return runWorkers(
            count: workers ?? needed, scenarioPath: scenarioPath, urls: urls, secret: secret, reportPath: reportPath,
            htmlPath: htmlPath, quiet: quiet, scenario: scenario, receiver: receiver)
    }
    raiseOpenFileLimit()
    // Every target must answer before anything starts: a wrong port fails now, with the reason,
    // not after a whole scenario of closed connections.
    if worker.count == 1 {
        for url in scenario.urls {
            guard let target = LoadEngine.parse(url) else { continue }
            if let problem = unreachable(host: target.host, port: target.port) {
                fputs("hometown-load: cannot connect to \(url): \(problem)\n", stderr)
                return 2
            }
        }
    }

    let started = MonotonicClock.seconds()
    let engine: LoadEngine
    do {
        engine = try LoadEngine(scenario: scenario, quiet: quiet, worker: worker, runID: runID)
    } catch {
        fputs("hometown-load: \(error)\n", stderr)
        return 2
    }
    let stats = engine.run()
    let connected = engine.viewers.filter(\.welcomed).count
    let thresholds = thresholdChecks(scenario, orderAck: stats.orderAck, commentFanout: stats.commentFanout)
    var report = Report(
        scenario: scenario.name, durationSeconds: MonotonicClock.seconds() - started, target: engine.viewers.count, connected: connected,
        histograms: [
            ("connect", stats.connect), ("comment_fanout", stats.commentFanout), ("order_ack", stats.orderAck),
            ("time_to_sell_out", stats.timeToSellOut),
        ],
        timeline: engine.timeline, errors: stats.errors, checks: Report.checks(engine, stats), thresholds: thresholds)
    report.sale = Report.saleTotals(engine)
    report.runID = engine.runID
    report.counters = [
        "reconnects": stats.reconnects, "orders_resent": stats.ordersResent, "unavailable_answers": stats.unavailableAnswers,
    ]
    if let payer = engine.payer {
        // Late payers pay a second or two after their deadline: wait for them.
        let outcomes = payer.finish(timeout: Double(scenario.paymentWindow) + scenario.payWithin + 15)
        for (outcome, count) in outcomes where !outcome.hasPrefix("unexpected") { report.counters["payments_" + outcome] = count }
        let unexpected = outcomes.filter { $0.key.hasPrefix("unexpected") || $0.key == "not_made" }
        report.checks.append(
            .init(
                name: "payments", ok: unexpected.isEmpty,
                detail:
                    "\(outcomes["paid"] ?? 0) paid in time (200), \(outcomes["late_refused_as_expired"] ?? 0) late payments refused as expired (409), "
                    + "\(outcomes["never_paid"] ?? 0) never paid"
                    + ((outcomes["retried_past_deadline_refused"] ?? 0) > 0
                        ? ", \(outcomes["retried_past_deadline_refused"]!) sent in time but reaching the room only after the deadline (409, expired)"
                        : "")
                    + (unexpected.first.map { "; \($0.value)× \($0.key)" } ?? "")))
    }
    for (outcome, count) in stats.orderUpdates { report.counters["order_updates_" + outcome] = count }
    if worker.count > 1 {
        // A worker's report goes to its parent, which merges and judges the whole run.
        if let reportPath, !writeJSON(report.json, to: reportPath) { return 2 }
        return 0
    }
    report.checks.append(StoredOrdersCheck.run(scenario: scenario, runID: engine.runID, acceptedIDs: report.sale.acceptedIDs))
    report.checks += SaleAudit.run(scenario: scenario, runID: engine.runID, receiver: receiver)
    print(report.text, terminator: "")
    if let reportPath, !writeJSON(report.json, to: reportPath) { fputs("hometown-load: cannot write \(reportPath)\n", stderr) }
    if let htmlPath, !writeFile(htmlPath, report.html) { fputs("hometown-load: cannot write \(htmlPath)\n", stderr) }
    return report.passed ? 0 : 1
}

func runMerge(_ arguments: [String]) -> Int32 {
    var inputs: [String] = []
    var output: String?
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        if argument == "--report" { output = rest.popFirst() } else { inputs.append(argument) }
    }
    var reports: [Report] = []
    for path in inputs {
        guard let bytes = readFile(path), let json = try? JSONParser.parse(bytes), let report = Report(json: json) else {
            fputs("hometown-load: \(path) is not a hometown-load report\n", stderr)
            return 2
        }
        reports.append(report)
    }
    guard !reports.isEmpty else { print(runUsage); return 2 }
    let merged = Report.merge(reports)
    print(merged.text, terminator: "")
    if let output, !writeJSON(merged.json, to: output) { fputs("hometown-load: cannot write \(output)\n", stderr) }
    return merged.passed ? 0 : 1
}

/// Splits a scenario over `count` processes of this same executable (each may open about 18,000
/// files here), waits for them, and merges their reports into one verdict.
func runWorkers(
    count: Int, scenarioPath: String, urls: [String], secret: String?, reportPath: String?, htmlPath: String?, quiet: Bool,
    scenario: Scenario, receiver: WebhookReceiver?
) -> Int32 {
    let runID = String(Int(time(nil)) % 1_000_000_000, radix: 36)
    var template = Array("/tmp/hometown-load-XXXXXX".utf8CString)
    let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    if !quiet { fputs("hometown-load: \(scenario.viewers) viewers over \(count) worker processes\n", stderr) }
    var pids: [pid_t] = []
    for index in 0..<count {
        var arguments = [
            "hometown-load", "run", "--scenario", scenarioPath, "--worker", "\(index)/\(count)", "--run-id", runID,
            "--report", "\(directory)/worker-\(index).json",
        ]
        for url in urls { arguments += ["--url", url] }
        if let secret { arguments += ["--secret", secret] }
        if !scenario.shopToken.isEmpty { arguments += ["--shop-token", scenario.shopToken] }
        if quiet { arguments.append("--quiet") }
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawn(&pid, "/proc/self/exe", nil, nil, &argv, environ)
        guard result == 0 else {
            fputs("hometown-load: cannot start worker \(index): \(String(cString: strerror(result)))\n", stderr)
            return 2
        }
        pids.append(pid)
    }
    for pid in pids {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    var reports: [Report] = []
    for index in 0..<count {
        guard let bytes = readFile("\(directory)/worker-\(index).json"), let json = try? JSONParser.parse(bytes),
            let report = Report(json: json)
        else {
            fputs("hometown-load: worker \(index) left no report\n", stderr)
            return 1
        }
        reports.append(report)
    }
    var merged = Report.merge(reports)
    merged.scenario = scenario.name
    // Thresholds judge the whole run's distribution, not each part's.
    let histogram = { (name: String) in merged.histograms.first(where: { $0.name == name })?.histogram ?? LatencyHistogram() }
    merged.thresholds = thresholdChecks(scenario, orderAck: histogram("order_ack"), commentFanout: histogram("comment_fanout"))
    merged.checks.append(StoredOrdersCheck.run(scenario: scenario, runID: runID, acceptedIDs: merged.sale.acceptedIDs))
    merged.checks += SaleAudit.run(scenario: scenario, runID: runID, receiver: receiver)
    print(merged.text, terminator: "")
    if let reportPath, !writeJSON(merged.json, to: reportPath) { fputs("hometown-load: cannot write \(reportPath)\n", stderr) }
    if let htmlPath, !writeFile(htmlPath, merged.html) { fputs("hometown-load: cannot write \(htmlPath)\n", stderr) }
    return merged.passed ? 0 : 1
}

/// The scenario's failing limits, judged on a run's latency distributions.
func thresholdChecks(_ scenario: Scenario, orderAck: LatencyHistogram, commentFanout: LatencyHistogram) -> [Report.Check] {
    var checks: [Report.Check] = []
    if scenario.maxOrderP99 > 0 {
        let p99 = orderAck.percentile(0.99)
        checks.append(
            .init(
                name: "order_p99", ok: p99 <= scenario.maxOrderP99,
                detail: "p99 \(format(p99)) ms, limit \(format(scenario.maxOrderP99)) ms"))
    }
    if scenario.maxCommentP99 > 0 {
        let p99 = commentFanout.percentile(0.99)
        checks.append(
            .init(
                name: "comment_p99", ok: p99 <= scenario.maxCommentP99,
                detail: "p99 \(format(p99)) ms, limit \(format(scenario.maxCommentP99)) ms"))
    }
    return checks
}

/// Why a TCP connection to the target cannot be opened (nil when it can), within 3 seconds.
func unreachable(host: String, port: UInt16) -> String? {
    do {
        _ = try BlockingWebSocketClient(host: host, port: port, timeout: 3, upgrade: false)
        return nil
    } catch {
        return "\(error)"
    }
}
