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

    func update(_ entry: Entry) {
        self.entries.withLock { $0[entry.room] = entry }
    }

    func remove(_ room: String) {
        self.entries.withLock { _ = $0.removeValue(forKey: room) }
    }

    /// Live rooms first, then by viewers, then by name.
    var sorted: [Entry] {
        self.entries.withLock { Array($0.values) }
            .sorted { ($0.live ? 0 : 1, -$0.viewers, $0.room) < ($1.live ? 0 : 1, -$1.viewers, $1.room) }
    }
}
