import Auth
import Glibc
import JSON
import Transport
import WebSocket

/// Runs a scenario: connects viewers and streamers on this process's event loops, drives the
/// phases, and collects what every loop measured. Open arrival: comments, likes and orders go out
/// at their planned times whether or not earlier answers came back, and latency is measured from
/// the planned time, so a stalled server cannot hide behind a slowed client.
final class LoadEngine: @unchecked Sendable {
    let scenario: Scenario
    /// Every `--url` target; viewer i connects to targets[i % count] (several addresses of a node,
    /// or the nodes of a scaled-out deployment), streamers to the first.
    let targets: [(host: String, port: UInt16)]
    let quiet: Bool
    let loops: [EventLoop]
    let stats: [LoopStats]
    let viewers: [Viewer]
    let streamers: [Streamer]
    private var byLoop: [[Viewer]]
    private let tokenExpiry = Int64(time(nil)) + 6 * 3600
    /// Set by the main thread: viewers comment and like only while a phase is "active".
    private let activity = Lock()
    private var active = false
    private var phaseName = "setup"
    private var target = 0
    private(set) var timeline: [(t: Double, messagesIn: Int, messagesOut: Int, orders: Int, connected: Int)] = []
    private(set) var viewerCountSamples: [(room: Int, reported: Int, actual: Int)] = []
    private let started = MonotonicClock.seconds()
    /// Set before the loops stop: closes after that are ours, not errors.
    var finished = false

    /// This process's share when several worker processes split one scenario: viewers whose
    /// index % count == index; worker 0 also runs the streamers.
    let worker: (index: Int, count: Int)
    /// The shop paying buyers' orders (a sale with a payment window and a shop token).
    let payer: Payer?
    /// Every viewer's room, across all workers (for the true viewer count per room).
    private let allRooms: [Int]

    init(scenario: Scenario, quiet: Bool, worker: (index: Int, count: Int) = (0, 1), runID: String? = nil) throws {
        self.scenario = scenario
        self.quiet = quiet
        self.worker = worker
        self.runID = runID ?? String(Int(time(nil)) % 1_000_000_000, radix: 36)
        let parsed = scenario.urls.compactMap(Self.parse)
        guard !parsed.isEmpty, parsed.count == scenario.urls.count else {
            throw Scenario.Error(message: "scenario: every url must look like ws://HOST:PORT")
        }
        self.targets = parsed
        self.payer = scenario.paymentWindow > 0 && !scenario.shopToken.isEmpty ? Payer(targets: parsed, token: scenario.shopToken) : nil
        self.loops = try (0..<max(1, scenario.loops)).map { try EventLoop(index: $0, tickInterval: 10_000_000) }
        self.stats = self.loops.map { _ in LoopStats() }
        let rooms = scenario.roomAssignments()
        self.allRooms = rooms
        var generator = SystemRandomNumberGenerator()
        let loopCount = self.loops.count
        self.viewers = rooms.enumerated().filter { $0.offset % worker.count == worker.index }.map { index, room in
            Viewer(
                index: index, room: room, loop: index % loopCount,
                buyer: Double.random(in: 0..<1, using: &generator) < scenario.buyerFraction)
        }
        self.streamers = worker.index == 0 ? (0..<scenario.roomCount).map { Streamer(room: $0, loop: $0 % loopCount) } : []
        self.byLoop = Array(repeating: [], count: loopCount)
        for viewer in self.viewers { self.byLoop[viewer.loop].append(viewer) }
    }

    /// Viewers the whole run (all workers) puts in each room once ramped to `target` of them.
    private func expectedViewers(upTo target: Int) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for room in self.allRooms.prefix(target) { counts[room, default: 0] += 1 }
        return counts
    }

    static func parse(_ url: String) -> (host: String, port: UInt16)? {
        guard url.hasPrefix("ws://") else { return nil }
        let rest = url.dropFirst(5)
        let hostPort = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let parts = hostPort.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        return (String(parts[0]) == "localhost" ? "127.0.0.1" : String(parts[0]), port)
    }

    /// Rooms are new for every run (rooms and their stock persist on the server), so each run
    /// starts from the scenario's stock and its checks mean what they say.
    let runID: String

    func roomName(_ room: Int) -> String { "\(self.scenario.roomPrefix)-\(self.runID)-\(room)" }

    func token(_ sub: String, role: String, room: String? = nil) -> String {
        JWT.sign(JWT.Claims(sub: sub, name: sub, role: role, room: room, exp: self.tokenExpiry), secret: self.scenario.secret)
    }

    // MARK: - Running

    func run() -> LoopStats {
        for loop in self.loops { loop.start() }
        for loop in self.loops {
            let index = loop.index
            loop.execute { loop.onTick { now in self.tick(loop: index) } }
        }
        self.setUpStreamers()
        for phase in self.scenario.phases {
            self.activity.withLock { self.phaseName = phase.name }
            switch phase.kind {
            case .ramp:
                self.ramp(to: min(self.scenario.viewers, phase.viewers ?? self.scenario.viewers), rate: phase.rate)
            case .hold:
                self.setActive(true)
                self.wait(phase.seconds)
                self.setActive(false)
                self.sampleViewerCounts()
            case .flash:
                self.setActive(true)
                self.startSales()
                self.wait(phase.seconds)
                self.setActive(false)
            case .rampdown:
                self.rampDown(rate: phase.rate)
            }
        }
        self.wait(0.5)
        let latch = CountdownLatch(self.loops.count)
        for loop in self.loops {
            loop.execute {
                self.finished = true
                latch.countDown()
            }
        }
        latch.wait()
        for loop in self.loops { loop.stop() }
        for loop in self.loops { loop.join() }
        let total = LoopStats()
        for stats in self.stats { total.merge(stats) }
        return total
    }

    private func setActive(_ value: Bool) {
        self.activity.withLock { self.active = value }
        let now = MonotonicClock.seconds()
        for (index, loop) in self.loops.enumerated() {
            let mine = self.byLoop[index]
            let comments = self.scenario.commentsPerViewerPerSecond
            let likes = self.scenario.likesPerViewerPerSecond
            loop.execute {
                for viewer in mine {
                    viewer.nextComment = value && comments > 0 ? now + Self.exponential(rate: comments) : .infinity
                    viewer.nextLike = value && likes > 0 ? now + Self.exponential(rate: likes) : .infinity
                }
            }
        }
    }

    /// Poisson arrivals: exponential gaps with the given mean rate.
    static func exponential(rate: Double) -> Double {
        -log(1 - Double.random(in: 0..<1)) / rate
    }

    /// Sleeps in one-second steps, printing the progress line.
    private func wait(_ seconds: Double) {
        let end = MonotonicClock.seconds() + seconds
        while MonotonicClock.seconds() < end {
            usleep(UInt32(min(1.0, max(0.01, end - MonotonicClock.seconds())) * 1_000_000))
            self.progress()
        }
    }

    private var lastProgress = (t: 0.0, messagesIn: 0, messagesOut: 0, orders: 0)
    private var rampTarget = 0

    /// One snapshot of every loop's stats, taken on the loops themselves.
    func snapshot() -> (stats: LoopStats, connected: Int) {
        let total = LoopStats()
        var connected = 0
        for (index, loop) in self.loops.enumerated() {
            let mine = self.byLoop[index]
            let (copy, count) = loop.runAndWait {
                (self.stats[index].copy(), mine.reduce(0) { $0 + ($1.welcomed && !$1.closed ? 1 : 0) })
            }
            total.merge(copy)
            connected += count
        }
        return (total, connected)
    }

    private func progress() {
        let (stats, connected) = self.snapshot()
        let now = MonotonicClock.seconds() - self.started
        let dt = max(0.001, now - self.lastProgress.t)
        let rates = (
            Double(stats.messagesIn - self.lastProgress.messagesIn) / dt, Double(stats.messagesOut - self.lastProgress.messagesOut) / dt,
            Double(stats.ordersAnswered - self.lastProgress.orders) / dt
        )
        self.timeline.append((now, stats.messagesIn, stats.messagesOut, stats.ordersAnswered, connected))
        self.lastProgress = (now, stats.messagesIn, stats.messagesOut, stats.ordersAnswered)
        guard !self.quiet else { return }
        let (phase, target) = self.activity.withLock { (self.phaseName, self.target) }
        let prefix = self.worker.count > 1 ? "[worker \(self.worker.index)] " : ""
        let errors = stats.errors.values.reduce(0, +)
        let line =
            prefix + "\(format(now))s \(phase) connected \(connected)/\(target) in \(Int(rates.0))/s out \(Int(rates.1))/s "
            + "orders \(Int(rates.2))/s comment p99 \(format(stats.commentFanout.percentile(0.99)))ms "
            + "order p99 \(format(stats.orderAck.percentile(0.99)))ms errors \(errors)\n"
        fputs(line, stderr)
    }

    // MARK: - Connecting

    private func setUpStreamers() {
        for streamer in self.streamers {
            let loop = self.loops[streamer.loop]
            loop.execute { self.open(streamer, on: loop) }
        }
        let deadline = MonotonicClock.seconds() + 15
        while MonotonicClock.seconds() < deadline {
            let ready = self.streamers.allSatisfy { streamer in
                self.loops[streamer.loop].runAndWait { streamer.ready }
            }
            if ready { return }
            usleep(20_000)
        }
        fputs("hometown-load: streamers did not get their rooms ready in 15 s\n", stderr)
    }

    /// Opens (or reopens after a drop, with the same backoff as viewers) a room's streamer.
    private func open(_ streamer: Streamer, on loop: EventLoop) {
        let room = self.roomName(streamer.room)
        let path = "/live/\(room)?token=" + self.token("load-streamer-\(streamer.room)", role: "streamer", room: room)
        let target = self.targets[streamer.attempts % self.targets.count]
        streamer.session = ClientSession.connect(loop: loop, host: target.host, port: target.port, source: nil, path: path) { session in
            session.onMessage = { session, message in self.streamerReceived(streamer, session, message) }
            session.onClose = { _, reason in
                guard !self.finished else { return }
                self.stats[streamer.loop].errors["streamer: " + reason, default: 0] += 1
                streamer.attempts += 1
                let delay = Double.random(in: 0...min(15.0, 0.25 * Double(1 << min(streamer.attempts, 6))))
                loop.schedule(after: UInt64(delay * 1e9)) { if !self.finished { self.open(streamer, on: loop) } }
            }
        }
    }

    private func ramp(to globalCount: Int, rate globalRate: Double) {
        self.rampTarget = globalCount
        let count = self.viewers.filter { $0.index < globalCount }.count
        let rate = globalRate / Double(self.worker.count)
        self.activity.withLock { self.target = count }
        let start = MonotonicClock.seconds()
        var next = self.viewers.filter { $0.connectStartedAt > 0 }.count
        while next < count {
            let due = min(count, Int((MonotonicClock.seconds() - start) * rate) + 1)
            while next < due {
                self.connect(self.viewers[next])
                next += 1
            }
            usleep(5_000)
            if MonotonicClock.seconds() - self.lastProgress.t - self.started >= 1 { self.progress() }
        }
        // Let the last ones finish their handshakes.
        let deadline = MonotonicClock.seconds() + 10
        while MonotonicClock.seconds() < deadline {
            let (_, connected) = self.snapshot()
            let failed = self.snapshot().stats.errors.filter { $0.key.hasPrefix("connect") }.values.reduce(0, +)
            if connected + failed >= count { break }
            usleep(50_000)
        }
        self.progress()
    }

    private func connect(_ viewer: Viewer) {
        let loop = self.loops[viewer.loop]
        loop.execute { self.open(viewer, on: loop) }
    }

    /// Opens (or reopens, resuming with since/epoch) a viewer's connection. On its loop.
    private func open(_ viewer: Viewer, on loop: EventLoop) {
        var path = "/live/\(self.roomName(viewer.room))?token=" + self.token(viewer.user, role: "viewer")
        if let seq = viewer.lastSeq, let epoch = viewer.epoch { path += "&since=\(seq)&epoch=\(epoch)" }
        let source = "127.0.0.\(1 + viewer.index % max(1, self.scenario.sources))"
        viewer.connectStartedAt = MonotonicClock.seconds()
        viewer.welcomed = false
        // Viewers spread over every target; each reconnect tries the next one, so the viewers
        // of a node that died move to the others.
        let target = self.targets[(viewer.index + viewer.reconnects) % self.targets.count]
        viewer.session = ClientSession.connect(loop: loop, host: target.host, port: target.port, source: source, path: path) { session in
            session.onMessage = { session, message in self.viewerReceived(viewer, session, message) }
            session.onClose = { _, reason in
                guard !viewer.closed, !self.finished else { return }
                self.stats[viewer.loop].errors["closed: " + reason, default: 0] += 1
                self.reconnect(viewer, on: loop)
            }
        }
        if viewer.session == nil {
            self.stats[viewer.loop].errors["connect failed", default: 0] += 1
            self.reconnect(viewer, on: loop)
        } else if let session = viewer.session {
            // A node that accepts but never answers (a stopped process: the kernel still takes
            // the connection) is given 5 s, like a browser's timeout, then the next one is tried.
            loop.schedule(after: 5_000_000_000) {
                guard viewer.session === session, !viewer.welcomed, !viewer.closed, !self.finished else { return }
                self.stats[viewer.loop].errors["no welcome within 5 s", default: 0] += 1
                session.connection.abort()
            }
        }
    }

    /// Exponential backoff with full jitter (0.25 s doubling to 15 s), so a server restart is not
    /// met by every viewer at the same instant.
    private func reconnect(_ viewer: Viewer, on loop: EventLoop) {
        viewer.session = nil
        viewer.welcomed = false
        let ceiling = min(15.0, 0.25 * Double(1 << min(viewer.attempts, 6)))
        viewer.attempts += 1
        viewer.reconnects += 1
        self.stats[viewer.loop].reconnects += 1
        let delay = Double.random(in: 0...ceiling)
        loop.schedule(after: UInt64(delay * 1e9)) {
            guard !viewer.closed, !self.finished else { return }
            self.open(viewer, on: loop)
        }
    }

    private func rampDown(rate: Double) {
        let start = MonotonicClock.seconds()
        var next = 0
        while next < self.viewers.count {
            let due = min(self.viewers.count, Int((MonotonicClock.seconds() - start) * rate) + 1)
            while next < due {
                let viewer = self.viewers[next]
                self.loops[viewer.loop].execute {
                    viewer.closed = true
                    viewer.session?.connection.closeAfterFlush()
                }
                next += 1
            }
            usleep(5_000)
        }
        self.progress()
    }

    private func startSales() {
        guard let sku = self.scenario.saleSKU else { return }
        for streamer in self.streamers {
            self.loops[streamer.loop].execute {
                streamer.saleStartedAt = MonotonicClock.seconds()
                streamer.session?.send(
                    text:
                        #"{"type":"sale.start","sku":"\#(sku)","limit":\#(self.scenario.saleLimit),"payment_window":\#(self.scenario.paymentWindow)}"#
                )
            }
        }
    }

    /// After a hold: wait for the coalesced viewer counts, then compare what each room reported
    /// with how many of our viewers are in it.
    private func sampleViewerCounts() {
        self.wait(2.5)
        var samples: [(Int, Int, Int)] = []
        for (index, loop) in self.loops.enumerated() {
            let mine = self.byLoop[index]
            samples += loop.runAndWait {
                mine.filter { $0.welcomed && !$0.closed }.map { ($0.room, $0.lastViewerCount ?? -1, 0) }
            }
        }
        // The truth: every simulated viewer of the room, in every worker process.
        var actual = self.expectedViewers(upTo: self.rampTarget)
        if self.worker.count == 1 {
            actual = [:]
            for sample in samples { actual[sample.0, default: 0] += 1 }
        }
        self.viewerCountSamples += samples.map { (room: $0.0, reported: $0.1, actual: actual[$0.0] ?? 0) }
    }

    // MARK: - On the loops

    private func tick(loop index: Int) {
        let active = self.activity.withLock { self.active }
        guard active else { return }
        let now = MonotonicClock.seconds()
        for viewer in self.byLoop[index] where viewer.welcomed && !viewer.closed {
            guard let session = viewer.session else { continue }
            // Planned times are kept even when this tick runs late: latency counts from the plan.
            while viewer.nextComment <= now {
                let planned = viewer.nextComment
                session.send(text: #"{"type":"comment","text":"lt \#(viewer.index) \#(Int64(planned * 1e9))"}"#)
                self.stats[index].messagesOut += 1
                viewer.nextComment = planned + Self.exponential(rate: self.scenario.commentsPerViewerPerSecond)
            }
            while viewer.nextLike <= now {
                session.send(text: #"{"type":"like"}"#)
                self.stats[index].messagesOut += 1
                viewer.nextLike += Self.exponential(rate: self.scenario.likesPerViewerPerSecond)
            }
        }
    }
}

func format(_ value: Double) -> String {
    let scaled = Int((value * 10).rounded())
    return "\(scaled / 10).\(abs(scaled % 10))"
}
