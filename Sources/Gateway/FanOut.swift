import Transport

/// Fan-out to audiences: each loop keeps, per room (or `/bench` channel), the audience of its own
/// connections. A message is encoded once and handed, as the same bytes, to every loop's audience,
/// so the fan-out itself takes no lock: another loop gets one task on its inbox per message. In a
/// cluster, a node's share of a room's events arrives here from the room's owner.
final class FanOut: Sendable {
    private let loops: [EventLoop]
    private let audiencesByLoop: [LoopBound<Audiences>]
    /// Counts deliveries, drops and fan-out latency (rooms); nil for the raw bench channels.
    private let metrics: ServerMetrics?

    final class Audiences {
        var byRoom: [String: Audience] = [:]
    }

    init(loops: [EventLoop], metrics: ServerMetrics?) {
        self.loops = loops
        self.metrics = metrics
        self.audiencesByLoop = loops.map { LoopBound(Audiences(), loop: $0) }
    }

    /// Sends `frame` to every member of `room` on every loop. Any loop: the one it runs on
    /// delivers inline, the others through their inboxes.
    func broadcast(_ frame: SharedBytes, droppable: Bool, room: String) {
        // Only rooms measure fan-out latency; the bench channels skip the clock read.
        let encodedAt = self.metrics == nil ? 0 : MonotonicClock.now()
        for audiences in self.audiencesByLoop {
            if audiences.loop.inLoop {
                self.deliver(frame, droppable: droppable, to: audiences.value, room: room, encodedAt: encodedAt)
            } else {
                audiences.loop.execute {
                    self.deliver(frame, droppable: droppable, to: audiences.value, room: room, encodedAt: encodedAt)
                }
            }
        }
    }

    /// Fan-out on one loop: the same bytes appended to each local connection's queue.
    private func deliver(_ frame: SharedBytes, droppable: Bool, to audiences: Audiences, room: String, encodedAt: UInt64) {
        guard let audience = audiences.byRoom[room] else { return }
        var dropped = 0
        for connection in audience.connections where !connection.enqueue(frame, droppable: droppable) {
            dropped += 1
        }
        // One observation and two counter adds per loop per broadcast, not per receiver.
        guard let metrics = self.metrics else { return }
        metrics.messagesOut.increment(by: audience.connections.count - dropped)
        if dropped > 0 { metrics.droppedMessages.increment(by: dropped) }
        metrics.fanOutLatency.observe(Double(MonotonicClock.now() &- encodedAt) / 1e9)
    }

    /// Adds `session` to the room's audience on the session's own loop. On that loop.
    func add(_ session: WebSocketSession, room: String) {
        let audiences = self.audiencesByLoop[session.connection.loop.index].value
        let audience =
            audiences.byRoom[room]
            ?? {
                let created = Audience()
                audiences.byRoom[room] = created
                return created
            }()
        audience.add(session)
    }

    /// Removes `session` from the room's audience. On the session's loop.
    func remove(_ session: WebSocketSession, room: String) {
        let audiences = self.audiencesByLoop[session.connection.loop.index].value
        guard let audience = audiences.byRoom[room] else { return }
        audience.remove(session)
        if audience.isEmpty { audiences.byRoom[room] = nil }
    }
}
