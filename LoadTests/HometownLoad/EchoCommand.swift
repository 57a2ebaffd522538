import Glibc
import Transport
import WebSocket
import WebSocketClient

// `hometown-load echo`: N blocking connections, each sending M messages to /echo and checking
// every echo; reports round trips per second and latency percentiles.

let echoUsage = """
    usage: hometown-load echo [--host H] [--port P] [--path /echo] [--connections N] [--messages M] [--size BYTES]

    Each connection runs on its own thread: send a message, wait for its echo, check it, repeat.
    Prints round trips per second and p50/p99/max round-trip latency; exits 1 on any mismatch.
    """

struct Options: Sendable {
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var path = "/echo"
    var connections = 4
    var messages = 10_000
    var size = 64
}

func parse(_ arguments: [String]) -> Options? {
    guard arguments.first == "echo" else { return nil }
    var options = Options()
    var rest = arguments.dropFirst()
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { return nil }
        switch flag {
        case "--host": options.host = value
        case "--port": guard let port = UInt16(value) else { return nil }; options.port = port
        case "--path": options.path = value
        case "--connections": guard let n = Int(value), n > 0, n <= 1000 else { return nil }; options.connections = n
        case "--messages": guard let n = Int(value), n > 0 else { return nil }; options.messages = n
        case "--size": guard let n = Int(value), n >= 0, n <= 1 << 24 else { return nil }; options.size = n
        default: return nil
        }
    }
    return options
}

/// Per-connection outcomes, filled in by the connection threads (each writes its own slot, under
/// the lock) and read after they are joined.
final class Results: Sendable {
    let latencies: LockedValue<[[Double]]>
    let failures: LockedValue<[String?]>

    init(count: Int) {
        self.latencies = LockedValue(Array(repeating: [], count: count))
        self.failures = LockedValue(Array(repeating: nil, count: count))
    }
}

func runEcho(_ arguments: [String]) -> Int32 {
    guard let options = parse(arguments) else {
        print(echoUsage)
        return 2
    }

    let results = Results(count: options.connections)
    var threads: [pthread_t] = []
    let start = MonotonicClock.seconds()
    for index in 0..<options.connections {
        threads.append(
            Threads.start {
                do {
                    let client = try BlockingWebSocketClient(host: options.host, port: options.port, path: options.path)
                    var payload = [UInt8](repeating: UInt8(ascii: "x"), count: options.size)
                    var samples: [Double] = []
                    samples.reserveCapacity(options.messages)
                    for round in 0..<options.messages {
                        if payload.count >= 8 { withUnsafeBytes(of: round) { payload.replaceSubrange(0..<8, with: $0) } }
                        let sent = MonotonicClock.seconds()
                        try client.send(.binary, payload)
                        let echo = try client.receiveMessage()
                        samples.append(MonotonicClock.seconds() - sent)
                        if echo.payload != payload {
                            results.failures.withLock { $0[index] = "connection \(index): echo \(round) differs" }
                            break
                        }
                    }
                    try? client.sendClose()
                    results.latencies.withLock { $0[index] = samples }
                } catch {
                    results.failures.withLock { $0[index] = "connection \(index): \(error)" }
                }
            })
    }
    for thread in threads { pthread_join(thread, nil) }
    let elapsed = MonotonicClock.seconds() - start

    let all = results.latencies.current.flatMap { $0 }.sorted()
    func percentile(_ p: Double) -> String {
        guard !all.isEmpty else { return "-" }
        let value = all[min(all.count - 1, Int(Double(all.count) * p))]
        return String(Int(value * 1_000_000)) + " µs"
    }
    print("echo: \(options.connections) connections × \(options.messages) messages of \(options.size) B")
    print("round trips: \(all.count) in \(String(Int(elapsed * 1000))) ms = \(Int(Double(all.count) / elapsed)) per second")
    print("latency: p50 \(percentile(0.5))  p99 \(percentile(0.99))  max \(percentile(1.0))")
    let failures = results.failures.current.compactMap { $0 }
    for failure in failures { print("FAILED: \(failure)") }
    return failures.isEmpty ? 0 : 1
}
