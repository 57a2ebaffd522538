import Auth
import CLinux
import Glibc
import Synchronization
import Transport
import WebSocket

// hometown-load fanout: broadcast fan-out measured from outside, the way the independent `wsload`
// generator measures it — delivered messages/s, delivery latency percentiles and lost messages —
// so docs/BENCHMARKS.md can be reproduced from this repository alone.
//
// One publisher keeps `--window` messages in flight (it sends the next one when it receives one of
// its own back: /bench echoes to the sender, and a live room's comment reaches its author too);
// N subscribers count every message they receive. Each message carries its sequence number and its
// send time (CLOCK_MONOTONIC ns, so latency is only valid on one machine). After a warm-up, every
// message sent during the `--duration` window is expected at every subscriber; whatever has not
// arrived when the drain ends is lost.

let fanoutUsage = """
    usage: hometown-load fanout [--host 127.0.0.1] [--port 8080] [--path /bench/room] [--subs 1000]
                                [--window 32] [--warmup 2] [--duration 10] [--loops 1] [--ramp 5000]
                                [--sources 4] [--secret S] [--server-pid PID] [--publish-port P]
      --path        /bench/{channel} (server run with --enable-bench) or /live/{room}: then every
                    connection signs in as a streamer (so comments skip the rate limit and budget)
      --window      messages the publisher keeps in flight
      --ramp        new connections per second while connecting
      --sources     loopback source addresses (127.0.0.1..N) to spread ports over
      --server-pid  report the server's CPU over the window (from /proc)
      --publish-port the publisher connects here instead of --port (cluster mode: publish on the
                    room's owner, measure the subscribers' node)
    """

struct FanoutOptions: Sendable {
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var path = "/bench/room"
    var subs = 1000
    var window = 32
    var warmup = 2.0
    var duration = 10.0
    var loops = 1
    var ramp = 5000
    var sources = 4
    var secret = "hometown-development-secret"
    var serverPID: Int32?
    var publishPort: UInt16?
}

/// What the loops share: the measured sequence range, set by the main thread.
final class FanoutWindow: Sendable {
    /// Messages with `seq >= first` count (set when the warm-up ends).
    let first = Atomic<Int>(Int.max)
    /// ... and `seq < end` (set when the window closes; until then, no upper bound).
    let end = Atomic<Int>(Int.max)
    /// The publisher stops sending once set.
    let stopped = Atomic<Bool>(false)

    func counts(_ seq: Int) -> Bool {
        seq >= self.first.load(ordering: .relaxed) && seq < self.end.load(ordering: .relaxed)
    }
}

/// One loop's tallies; touched only on its loop (read with `runAndWait`).
final class FanoutTally {
    var opened = 0
    var failures: [String] = []
    var delivered = 0
    var latency = LatencyHistogram()
}

/// The publisher's state, on its loop.
final class FanoutPublisher {
    var session: ClientSession?
    var nextSeq = 0
    var inFlight = 0
    var open = false
}

func parseFanout(_ arguments: [String]) -> FanoutOptions? {
    var options = FanoutOptions()
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        if flag == "-h" || flag == "--help" { return nil }
        guard let value = rest.popFirst() else { return nil }
        switch flag {
        case "--host": options.host = value
        case "--port": guard let port = UInt16(value) else { return nil }; options.port = port
        case "--path": options.path = value
        case "--subs": guard let n = Int(value), n >= 1, n <= 19_000 else { return nil }; options.subs = n
        case "--window": guard let n = Int(value), n >= 1, n <= 10_000 else { return nil }; options.window = n
        case "--warmup": guard let n = Double(value), n >= 0, n <= 600 else { return nil }; options.warmup = n
        case "--duration": guard let n = Double(value), n > 0, n <= 600 else { return nil }; options.duration = n
        case "--loops": guard let n = Int(value), n >= 1, n <= 16 else { return nil }; options.loops = n
        case "--ramp": guard let n = Int(value), n >= 10 else { return nil }; options.ramp = n
        case "--sources": guard let n = Int(value), n >= 1, n <= 200 else { return nil }; options.sources = n
        case "--secret": options.secret = value
        case "--server-pid": options.serverPID = Int32(value)
        case "--publish-port": guard let port = UInt16(value) else { return nil }; options.publishPort = port
        default: return nil
        }
    }
    return options
}

/// What every published message starts with: a comment, so the same text works on `/bench` (echoed
/// as it is) and on `/live` (a streamer's comment, broadcast inside a `comment` event).
let fanoutPrefix = #"{"type":"comment","text":"fanout "#
let fanoutPrefixLength = fanoutPrefix.utf8.count

/// The `fseq=N fts=T` stamp a message carries, if any: one `memmem` (the stamp sits at a
/// different offset in a bench echo and in a live room's comment event) and two digit runs. This
/// runs for every delivery; a generic search here was most of the tool's CPU.
func stamp(in bytes: [UInt8]) -> (seq: Int, sentAt: Int)? {
    bytes.withUnsafeBytes { buffer -> (Int, Int)? in
        guard let base = buffer.baseAddress else { return nil }
        var index: Int
        // A bench echo is the publisher's own bytes: the stamp is right after the fixed prefix.
        let at = fanoutPrefixLength
        if buffer.count > at + 5 && buffer[at] == 0x66 && buffer[at + 1] == 0x73 && buffer[at + 2] == 0x65 && buffer[at + 3] == 0x71
            && buffer[at + 4] == 0x3D
        {
            index = at + 5
        } else if let found = hometown_memmem(base, buffer.count, "fseq=", 5) {
            index = base.distance(to: UnsafeRawPointer(found)) + 5
        } else {
            return nil
        }
        func digits() -> Int? {
            var value = 0
            let start = index
            while index < buffer.count, buffer[index] >= 0x30, buffer[index] <= 0x39, index - start < 19 {
                value = value * 10 + Int(buffer[index] - 0x30)
                index += 1
            }
            return index > start ? value : nil
        }
        guard let seq = digits(), index + 5 <= buffer.count, buffer[index] == 0x20, buffer[index + 1] == 0x66 else { return nil }
        index += 5  // " fts="
        guard let sentAt = digits() else { return nil }
        return (seq, sentAt)
    }
}

/// Resident memory of a process in KiB, from /proc/PID/status.
func residentKiB(_ pid: Int32) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") { return Int(text.split(separator: " ", omittingEmptySubsequences: true)[1]) }
    }
    return nil
}

func runFanout(_ arguments: [String]) -> Int32 {
    guard let options = parseFanout(arguments) else {
        print(fanoutUsage)
        return 2
    }
    raiseOpenFileLimit()

    let path: String
    if options.path.hasPrefix("/live/") {
        let claims = JWT.Claims(sub: "fanout-bench", name: "Fanout", role: "streamer", exp: Int64(time(nil)) + 3600)
        path = options.path + (options.path.contains("?") ? "&" : "?") + "token=" + JWT.sign(claims, secret: options.secret)
    } else {
        path = options.path
    }
    guard let loops = startClientLoops(options.loops, command: "fanout") else { return 1 }
    defer { stopClientLoops(loops) }
    let tallies = loops.map { _ in FanoutTally() }
    let window = FanoutWindow()
    let rssBefore = options.serverPID.flatMap(residentKiB)

    // 1. The publisher, on the first loop with the subscribers (one client thread, as `wsload`
    //    runs by default): a window of messages in flight, each one done when its echo comes back,
    //    and the next one written at once rather than after the rest of the loop's reads.
    let publisher = FanoutPublisher()
    let publisherLoop = loops[0]
    @Sendable func sendNext(_ publisher: FanoutPublisher) {
        guard let session = publisher.session, !window.stopped.load(ordering: .relaxed) else { return }
        while publisher.inFlight < options.window {
            let seq = publisher.nextSeq
            publisher.nextSeq += 1
            publisher.inFlight += 1
            session.send(text: fanoutPrefix + "fseq=\(seq) fts=\(MonotonicClock.now())\"}")
        }
        session.connection.flushNow()
    }

    // 2. Subscribers, spread over the loops, at most `ramp` new connections a second.
    let perTick = max(1, options.ramp / 10 / options.loops)
    for loop in loops {
        let tally = tallies[loop.index]
        let (host, port, sources, subs, loopCount) = (options.host, options.port, options.sources, options.subs, options.loops)
        loop.execute {
            var next = loop.index
            loop.onTick { _ in
                var started = 0
                while next < subs && started < perTick {
                    let index = next
                    next += loopCount
                    started += 1
                    let source = "127.0.0.\(1 + index % sources)"
                    let session = ClientSession.connect(loop: loop, host: host, port: port, source: source, path: path) { session in
                        session.onOpen = { _ in tally.opened += 1 }
                        session.onMessage = { session, message in
                            guard let (seq, sentAt) = stamp(in: message.payload), window.counts(seq) else { return }
                            tally.delivered += 1
                            // Receipt time = the loop's clock, read once per wake-up after epoll_wait:
                            // one clock read per batch of reads, not per message.
                            tally.latency.record(seconds: Double(Int(session.connection.loop.now) - sentAt) / 1e9)
                        }
                        session.onClose = { _, reason in if tally.failures.count < 5 { tally.failures.append(reason) } }
                    }
                    if session == nil { tally.failures.append("connect failed") }
                }
            }
        }
    }
    func opened() -> Int { loops.reduce(0) { total, loop in total + loop.runAndWait { tallies[loop.index].opened } } }
    let connectDeadline = MonotonicClock.seconds() + Double(options.subs) / Double(options.ramp) + 30
    while opened() < options.subs {
        if MonotonicClock.seconds() > connectDeadline {
            print("fanout: only \(opened()) of \(options.subs) subscribers connected")
            return 1
        }
        usleep(100_000)
    }

    // 3. The publisher connects last.
    let (host, port) = (options.host, options.publishPort ?? options.port)
    publisherLoop.execute {
        publisher.session = ClientSession.connect(loop: publisherLoop, host: host, port: port, source: "127.0.0.1", path: path) {
            session in
            session.onOpen = { _ in publisher.open = true }
            session.onMessage = { _, message in
                guard stamp(in: message.payload) != nil else { return }
                publisher.inFlight -= 1
                sendNext(publisher)
            }
        }
    }
    let publisherDeadline = MonotonicClock.seconds() + 10
    while !publisherLoop.runAndWait({ publisher.open }) {
        if MonotonicClock.seconds() > publisherDeadline {
            print("fanout: the publisher could not connect to \(options.path)")
            return 1
        }
        usleep(10_000)
    }

    let rssConnected = options.serverPID.flatMap(residentKiB)

    // 4. Warm-up, the measured window, then a drain for what is still in flight.
    publisherLoop.execute { sendNext(publisher) }
    usleep(useconds_t(options.warmup * 1_000_000))
    let firstSeq = publisherLoop.runAndWait { publisher.nextSeq }
    window.first.store(firstSeq, ordering: .relaxed)
    let cpuBefore = options.serverPID.flatMap(processCPUSeconds)
    let ownBefore = processCPUSeconds(getpid())
    let started = MonotonicClock.seconds()
    usleep(useconds_t(options.duration * 1_000_000))
    let endSeq = publisherLoop.runAndWait { publisher.nextSeq }
    window.end.store(endSeq, ordering: .relaxed)
    let elapsed = MonotonicClock.seconds() - started
    let cpuAfter = options.serverPID.flatMap(processCPUSeconds)
    let ownAfter = processCPUSeconds(getpid())
    window.stopped.store(true, ordering: .relaxed)
    let expected = (endSeq - firstSeq) * options.subs
    func delivered() -> Int { loops.reduce(0) { total, loop in total + loop.runAndWait { tallies[loop.index].delivered } } }
    let drainDeadline = MonotonicClock.seconds() + 5
    while delivered() < expected && MonotonicClock.seconds() < drainDeadline { usleep(20_000) }

    var latency = LatencyHistogram()
    var failures: [String] = []
    for loop in loops {
        let (histogram, failed) = loop.runAndWait { (tallies[loop.index].latency, tallies[loop.index].failures) }
        latency.merge(histogram)
        failures += failed
    }
    let total = delivered()
    func milliseconds(_ value: Double) -> String {
        value < 10 ? String(Double(Int(value * 100)) / 100) : String(Int(value.rounded()))
    }
    print("fanout: \(options.subs) subscribers on \(options.path), window \(options.window), \(options.duration) s")
    print("sent: \(endSeq - firstSeq) messages in the window; expected deliveries: \(expected)")
    print("delivered: \(total) = \(Int(Double(total) / elapsed)) msgs/s; lost: \(max(0, expected - total))")
    print(
        "latency ms: p50 \(milliseconds(latency.percentile(0.5)))  p90 \(milliseconds(latency.percentile(0.9)))  "
            + "p99 \(milliseconds(latency.percentile(0.99)))  max \(milliseconds(latency.percentile(1)))")
    if let before = cpuBefore, let after = cpuAfter {
        print("server CPU: \(Int((after - before) / elapsed * 100)) % of one core")
    }
    if let before = ownBefore, let after = ownAfter {
        print("hometown-load CPU: \(Int((after - before) / elapsed * 100)) % of one core")
    }
    if let before = rssBefore, let connected = rssConnected {
        let perConnection = (connected - before) * 1024 / (options.subs + 1)
        print("server RSS: \(before) KiB before connecting, \(connected) KiB connected = \(perConnection) bytes per connection")
    }
    for failure in failures.prefix(5) { print("connection problem: \(failure)") }
    return total >= expected && failures.isEmpty ? 0 : 1
}
