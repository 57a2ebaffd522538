import Transport

/// The connections of one loop that receive a room's (or a bench channel's) broadcasts: dense
/// arrays walked by the fan-out, with O(1) swap-removal by each session's slot.
///
/// Loop-confined: one per loop per room or channel.
final class Audience {
    private(set) var connections: ContiguousArray<Connection> = []
    private var sessions: ContiguousArray<WebSocketSession> = []

    var isEmpty: Bool { self.connections.isEmpty }

    func add(_ session: WebSocketSession) {
        guard session.audienceSlot < 0 else { return }
        session.audienceSlot = self.connections.count
        self.connections.append(session.connection)
        self.sessions.append(session)
    }

    func remove(_ session: WebSocketSession) {
        let slot = session.audienceSlot
        guard slot >= 0, slot < self.sessions.count, self.sessions[slot] === session else { return }
        let last = self.connections.count - 1
        if slot != last {
            self.connections[slot] = self.connections[last]
            self.sessions[slot] = self.sessions[last]
            self.sessions[slot].audienceSlot = slot
        }
        self.connections.removeLast()
        self.sessions.removeLast()
        session.audienceSlot = -1
    }
}
