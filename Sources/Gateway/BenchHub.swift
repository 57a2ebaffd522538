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
        var channels: [String: Subscribers] = [:]
    }

    /// Dense arrays, swap-removed by slot, so fan-out walks contiguous memory.
    final class Subscribers {
        var connections: ContiguousArray<Connection> = []
        var sessions: ContiguousArray<WebSocketSession> = []
    }

    /// Adds `session` (on its own loop). Returns its slot for `unsubscribe`.
    func subscribe(_ session: WebSocketSession, channel: String) {
        let table = self.local[session.connection.loop.index]
        let subscribers = table.channels[channel] ?? {
            let created = Subscribers()
            table.channels[channel] = created
            return created
        }()
        session.benchSlot = subscribers.connections.count
        subscribers.connections.append(session.connection)
        subscribers.sessions.append(session)
    }

    func unsubscribe(_ session: WebSocketSession, channel: String) {
        let table = self.local[session.connection.loop.index]
        guard let subscribers = table.channels[channel], session.benchSlot >= 0 else { return }
        let slot = session.benchSlot
        let last = subscribers.connections.count - 1
        if slot != last {
            subscribers.connections[slot] = subscribers.connections[last]
            subscribers.sessions[slot] = subscribers.sessions[last]
            subscribers.sessions[slot].benchSlot = slot
        }
        subscribers.connections.removeLast()
        subscribers.sessions.removeLast()
        session.benchSlot = -1
        if subscribers.connections.isEmpty { table.channels[channel] = nil }
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
