import Glibc
import JSON

let runUsage = """
    usage: hometown-load run --scenario FILE [--url ws://HOST:PORT ...] [--secret S] [--report FILE] [--html FILE] [--quiet]
           hometown-load merge REPORT.json... [--report FILE]

    run    plays a scenario (Config/smoke.json, festival.json, flash-sale.json) against the server,
           prints a progress line every second (unless --quiet) and a report at the end; exits 1 when
           any correctness check or threshold fails
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
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        switch flag {
        case "--quiet": quiet = true
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
    if scenario.viewers + scenario.roomCount > 18_000 {
        fputs("hometown-load: \(scenario.viewers) connections exceed what one process may open here (20,000 files); "
            + "run several processes with a share of the viewers each and combine them with `hometown-load merge`\n", stderr)
        return 2
    }
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)

    let started = monotonic()
    let engine: LoadEngine
    do {
        engine = try LoadEngine(scenario: scenario, quiet: quiet)
    } catch {
        fputs("hometown-load: \(error)\n", stderr)
        return 2
    }
    let stats = engine.run()
    let connected = engine.viewers.filter(\.welcomed).count
    var thresholds: [Report.Check] = []
    if scenario.maxOrderP99 > 0 {
        let p99 = stats.orderAck.percentile(0.99)
        thresholds.append(.init(name: "order_p99", ok: p99 <= scenario.maxOrderP99, detail: "p99 \(format(p99)) ms, limit \(format(scenario.maxOrderP99)) ms"))
    }
    if scenario.maxCommentP99 > 0 {
        let p99 = stats.commentFanout.percentile(0.99)
        thresholds.append(.init(name: "comment_p99", ok: p99 <= scenario.maxCommentP99, detail: "p99 \(format(p99)) ms, limit \(format(scenario.maxCommentP99)) ms"))
    }
    let report = Report(
        scenario: scenario.name, durationSeconds: monotonic() - started, target: scenario.viewers, connected: connected,
        histograms: [("connect", stats.connect), ("comment_fanout", stats.commentFanout), ("order_ack", stats.orderAck),
                     ("time_to_sell_out", stats.timeToSellOut)],
        timeline: engine.timeline, errors: stats.errors, checks: Report.checks(engine, stats), thresholds: thresholds)
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
