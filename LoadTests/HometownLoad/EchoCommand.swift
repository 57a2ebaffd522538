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

struct Options {
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

final class Results: @unchecked Sendable {
    var latencies: [[Double]]
    var failures: [String?]
    init(count: Int) {
        self.latencies = Array(repeating: [], count: count)
        self.failures = Array(repeating: nil, count: count)
    }
}

/// What one connection's thread needs; passed through pthread_create's context pointer.
final class Job {
    let index: Int
    let options: Options
    let results: Results
    init(index: Int, options: Options, results: Results) {
        self.index = index
        self.options = options
        self.results = results
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
        var thread = pthread_t()
        let job = Unmanaged.passRetained(Job(index: index, options: options, results: results)).toOpaque()
        pthread_create(
            &thread, nil,
            { argument in
                let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
                let (index, options, results) = (job.index, job.options, job.results)
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
                            results.failures[index] = "connection \(index): echo \(round) differs"
                            break
                        }
                    }
                    try? client.sendClose()
                    results.latencies[index] = samples
                } catch {
                    results.failures[index] = "connection \(index): \(error)"
                }
                return nil
            }, job)
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
    let elapsed = MonotonicClock.seconds() - start

    let all = results.latencies.flatMap { $0 }.sorted()
    func percentile(_ p: Double) -> String {
        guard !all.isEmpty else { return "-" }
        let value = all[min(all.count - 1, Int(Double(all.count) * p))]
        return String(Int(value * 1_000_000)) + " µs"
    }
    print("echo: \(options.connections) connections × \(options.messages) messages of \(options.size) B")
    print("round trips: \(all.count) in \(String(Int(elapsed * 1000))) ms = \(Int(Double(all.count) / elapsed)) per second")
    print("latency: p50 \(percentile(0.5))  p99 \(percentile(0.99))  max \(percentile(1.0))")
    let failures = results.failures.compactMap { $0 }
    for failure in failures { print("FAILED: \(failure)") }
    return failures.isEmpty ? 0 : 1
}
