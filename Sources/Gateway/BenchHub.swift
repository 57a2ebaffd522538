import Transport

/// The raw fan-out behind `/bench/{channel}`: every message goes to every connection on the
/// channel, across all event loops, encoded once.
///
/// Each loop keeps its own subscriber lists (touched only by that loop), so the fan-out itself
/// takes no lock; a message published on loop A reaches loop B as one task on B's inbox.
public final class BenchHub: @unchecked Sendable {
    private let loops: [EventLoop]
    private let local: [LocalChannels]

    public init(loops: [EventLoop]) {
        self.loops = loops
        self.local = loops.map { _ in LocalChannels() }
    }

    /// Loop-confined subscriber lists of one loop.
    final class LocalChannels {
        var channels: [String: Audience] = [:]
    }

    /// Adds `session` to its channel (on its own loop).
    func subscribe(_ session: WebSocketSession, channel: String) {
        let table = self.local[session.connection.loop.index]
        let audience =
            table.channels[channel]
            ?? {
                let created = Audience()
                table.channels[channel] = created
                return created
            }()
        audience.add(session)
    }

    func unsubscribe(_ session: WebSocketSession, channel: String) {
        let table = self.local[session.connection.loop.index]
        guard let audience = table.channels[channel] else { return }
        audience.remove(session)
        if audience.isEmpty { table.channels[channel] = nil }
    }

    /// Sends `frame` to every subscriber of `channel` on every loop. Called on `origin`'s thread.
    func publish(_ frame: SharedBytes, channel: String, from origin: EventLoop) {
        for loop in self.loops {
            if loop === origin {
                self.deliver(frame, channel: channel, on: loop.index)
            } else {
                let index = loop.index
                loop.execute { self.deliver(frame, channel: channel, on: index) }
            }
        }
    }

    private func deliver(_ frame: SharedBytes, channel: String, on loopIndex: Int) {
        guard let subscribers = self.local[loopIndex].channels[channel] else { return }
        for connection in subscribers.connections {
            connection.enqueue(frame)
        }
    }
}
