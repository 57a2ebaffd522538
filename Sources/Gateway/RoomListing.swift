import Transport

/// The lobby's view of every room (title, live, viewers), refreshed by each room's loop on its
/// tick and read by `GET /api/rooms` on any loop.
final class RoomListing: Sendable {
    struct Entry: Sendable {
        var room: String
        var title: String
        var live: Bool
        var viewers: Int
    }

    private let entries = LockedValue<[String: Entry]>([:])
    /// Cluster mode: rooms run by other nodes, as their last heartbeat said (replaced whole).
    private let elsewhere = LockedValue<[Entry]>([])

    func update(_ entry: Entry) {
        self.entries.withLock { $0[entry.room] = entry }
    }

    func remove(_ room: String) {
        self.entries.withLock { _ = $0.removeValue(forKey: room) }
    }

    /// The rooms this process runs.
    var local: [Entry] { self.entries.withLock { Array($0.values) } }

    func replaceElsewhere(_ entries: [Entry]) { self.elsewhere.withLock { $0 = entries } }

    /// Live rooms first, then by viewers, then by name (every node's, in cluster mode).
    var sorted: [Entry] {
        let local = self.entries.withLock { $0 }
        let others = self.elsewhere.withLock { $0 }.filter { local[$0.room] == nil }
        return (Array(local.values) + others)
            .sorted { ($0.live ? 0 : 1, -$0.viewers, $0.room) < ($1.live ? 0 : 1, -$1.viewers, $1.room) }
    }
}
