import Auth
import Glibc
import JSON
import Transport
import WebSocket
import WebSocketClient

// `hometown-load flash`: the flash-sale stampede. A streamer opens a room and puts `stock` units
// on sale with a per-buyer limit of 1; `buyers` connections (each its own signed-in user) wait on
// event loops, and every one of them orders the moment it sees the sale go live. Checks that
// exactly `stock` orders are accepted (demand exceeds stock), every order is answered, and the
// streamer's order stream has every accepted order; reports order-ack latency and orders/s.

let flashUsage = """
    usage: hometown-load flash [--host 127.0.0.1] [--port 8080] [--secret S] [--buyers 15000] [--stock 10000]
                               [--room flashbench] [--loops 2] [--ramp 4000] [--sources 4] [--server-pid PID]

    --secret   the server's JWT secret (default: the development secret, or HOMETOWN_JWT_SECRET)
    --ramp     new connections per second; --sources spreads them over 127.0.0.1 .. 127.0.0.N
    """

struct FlashOptions {
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var secret = getenv("HOMETOWN_JWT_SECRET").map { String(cString: $0) } ?? "hometown-development-secret"
    var buyers = 15_000
    var stock = 10_000
    var room = "flashbench"
    var loops = 2
    var ramp = 4000
    var sources = 4
    /// When given, the server's CPU use during the sale is reported (from /proc).
    var serverPID: Int32?
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
func processCPUSeconds(_ pid: Int32) -> Double? {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let line = String(cString: buffer)
    guard let close = line.lastIndex(of: ")") else { return nil }
    let fields = line[line.index(after: close)...].split(separator: " ")
    // After the command: state is field 0, utime field 11, stime field 12.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Counters and samples shared by the loops; each loop writes only its own slot.
final class FlashTally: @unchecked Sendable {
    let lock = Lock()
    var opened = 0
    var failed: [String] = []
    var statuses: [String: Int] = [:]
    var latencies: [Double] = []
    var firstSend = Double.infinity
    var lastAnswer = 0.0
    var orderIDs: [String] = []
    /// Set when the run is over: closes after that are ours, not problems.
    var finished = false
}

func runFlash(_ arguments: [String]) -> Int32 {
    var options = FlashOptions()
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { print(flashUsage); return 2 }
        switch flag {
        case "--host": options.host = value
        case "--port": options.port = UInt16(value) ?? options.port
        case "--secret": options.secret = value
        case "--buyers": options.buyers = Int(value) ?? options.buyers
        case "--stock": options.stock = Int(value) ?? options.stock
        case "--room": options.room = value
        case "--loops": options.loops = max(1, Int(value) ?? options.loops)
        case "--ramp": options.ramp = max(1, Int(value) ?? options.ramp)
        case "--sources": options.sources = max(1, min(200, Int(value) ?? options.sources))
        case "--server-pid": options.serverPID = Int32(value)
        default: print(flashUsage); return 2
        }
    }
    raiseOpenFileLimit()

    let exp = Int64(time(nil)) + 3600
    func token(_ sub: String, _ role: String) -> String {
        JWT.sign(JWT.Claims(sub: sub, name: sub, role: role, exp: exp), secret: options.secret)
    }
    // The streamer: a blocking client on this thread.
    let streamer: BlockingWebSocketClient
    do {
        streamer = try BlockingWebSocketClient(
            host: options.host, port: options.port, path: "/live/\(options.room)?token=\(token("flash-streamer", "streamer"))")
        _ = try streamer.receiveMessage()
        try streamer.send(text: #"{"type":"room.open","title":"flash benchmark"}"#)
        try streamer.send(text: #"{"type":"product.add","sku":"bench","title":"Benchmark apples","price":100,"stock":\#(options.stock)}"#)
    } catch {
        print("flash: streamer could not set up the room: \(error)")
        return 1
    }

    let tally = FlashTally()
    guard let loops = startClientLoops(options.loops, command: "flash") else { return 1 }
    let tokens = (0..<options.buyers).map { token("buyer-\($0)", "viewer") }
    let path = "/live/\(options.room)?token="
    let live = Array(#"{"type":"sale","sku":"bench","state":"live""#.utf8)
    let welcome = Array(#"{"type":"welcome""#.utf8)
    let result = Array(#"{"type":"order.result""#.utf8)

    // Ramp: each loop connects its share, a tick's worth at a time.
    let perTick = max(1, options.ramp / 10 / options.loops)
    let settings = options
    for loop in loops {
        loop.execute {
            var next = loop.index
            loop.onTick { _ in
                var started = 0
                while next < settings.buyers && started < perTick {
                    let buyer = next
                    next += settings.loops
                    started += 1
                    let source = "127.0.0.\(1 + buyer % settings.sources)"
                    var sentAt = 0.0
                    let session = ClientSession.connect(
                        loop: loop, host: settings.host, port: settings.port, source: source, path: path + tokens[buyer]
                    ) { session in
                        session.tag = buyer
                        session.onMessage = { session, message in
                            let bytes = message.payload
                            if bytes.starts(with: welcome) {
                                tally.lock.withLock { tally.opened += 1 }
                            } else if bytes.starts(with: live) && sentAt == 0 {
                                sentAt = MonotonicClock.seconds()
                                session.send(text: #"{"type":"order","sku":"bench","qty":1,"ref":"r\#(buyer)"}"#)
                            } else if bytes.starts(with: result) {
                                let answeredAt = MonotonicClock.seconds()
                                let parsed = try? JSONParser.parse(bytes)
                                let status = parsed?["status"]?.stringValue ?? "?"
                                tally.lock.withLock {
                                    tally.statuses[status, default: 0] += 1
                                    tally.latencies.append(answeredAt - sentAt)
                                    tally.firstSend = min(tally.firstSend, sentAt)
                                    tally.lastAnswer = max(tally.lastAnswer, answeredAt)
                                    if status == "accepted", let id = parsed?["order"]?.stringValue { tally.orderIDs.append(id) }
                                }
                            }
                        }
                        session.onClose = { _, reason in
                            tally.lock.withLock { if !tally.finished { tally.failed.append("buyer \(buyer): \(reason)") } }
                        }
                    }
                    if session == nil { tally.lock.withLock { tally.failed.append("buyer \(buyer): connect failed") } }
                }
            }
        }
    }

    let connectStart = MonotonicClock.seconds()
    while tally.lock.withLock({ tally.opened + tally.failed.count }) < options.buyers && MonotonicClock.seconds() - connectStart < 120 {
        usleep(50_000)
    }
    let connectSeconds = MonotonicClock.seconds() - connectStart
    let opened = tally.lock.withLock { tally.opened }
    print("flash: \(opened)/\(options.buyers) buyers connected in \(String(format(connectSeconds))) s")

    // Go.
    do {
        try streamer.send(text: #"{"type":"sale.start","sku":"bench","limit":1}"#)
    } catch {
        print("flash: could not start the sale: \(error)")
        return 1
    }
    let saleStart = MonotonicClock.seconds()
    let serverCPUBefore = options.serverPID.flatMap(processCPUSeconds)
    let selfCPUBefore = processCPUSeconds(getpid())
    // Meanwhile the streamer reads its order stream, as a studio would; it must hold every
    // accepted order.
    var streamed = Set<String>()
    streamer.setTimeout(0.05)
    while MonotonicClock.seconds() - saleStart < 60 {
        let done = tally.lock.withLock { tally.latencies.count >= opened }
        if done && streamed.count >= tally.lock.withLock({ tally.orderIDs.count }) { break }
        guard let message = try? streamer.receiveMessage() else { continue }
        if let parsed = try? JSONParser.parse(message.payload), parsed["type"]?.stringValue == "order",
            let id = parsed["order"]?.stringValue
        {
            streamed.insert(id)
        }
    }
    let saleSeconds = MonotonicClock.seconds() - saleStart
    if let before = serverCPUBefore, let pid = options.serverPID, let after = processCPUSeconds(pid) {
        print("flash: server CPU \(Int((after - before) / saleSeconds * 100)) % of one core during the sale")
    }
    if let before = selfCPUBefore, let after = processCPUSeconds(getpid()) {
        print("flash: hometown-load CPU \(Int((after - before) / saleSeconds * 100)) % of one core during the sale")
    }
    tally.lock.withLock { tally.finished = true }
    stopClientLoops(loops)

    let (statuses, latencies, first, last, ids, failures) = tally.lock.withLock {
        (tally.statuses, tally.latencies.sorted(), tally.firstSend, tally.lastAnswer, tally.orderIDs, tally.failed)
    }
    func percentile(_ p: Double) -> String {
        guard !latencies.isEmpty else { return "-" }
        return format(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000) + " ms"
    }
    let accepted = statuses["accepted"] ?? 0
    let answered = latencies.count
    let window = max(last - first, 1e-9)
    print("flash: \(answered) orders answered in \(format(window * 1000)) ms = \(Int(Double(answered) / window)) orders/s")
    print("flash: statuses \(statuses.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    print("flash: order ack latency p50 \(percentile(0.5))  p90 \(percentile(0.9))  p99 \(percentile(0.99))  max \(percentile(1.0))")
    var checks: [(String, Bool, String)] = []
    let expected = min(options.stock, opened)
    checks.append(("no_oversell", accepted <= options.stock, "accepted \(accepted) of stock \(options.stock)"))
    checks.append(("sold_exactly", accepted == expected, "accepted \(accepted), expected \(expected)"))
    checks.append(("orders_answered", answered == opened, "\(answered) answers for \(opened) buyers"))
    checks.append(("unique_orders", Set(ids).count == ids.count, "\(ids.count) order ids, \(Set(ids).count) distinct"))
    checks.append(("order_stream", streamed == Set(ids), "streamer saw \(streamed.count) of \(ids.count)"))
    for (name, ok, detail) in checks { print("check \(ok ? "ok  " : "FAIL") \(name): \(detail)") }
    if !failures.isEmpty { print("flash: \(failures.count) connection problems, first: \(failures.prefix(3))") }
    return checks.allSatisfy { $0.1 } ? 0 : 1
}
