import OrderJournal

/// Where the webhook delivery reads events and records what it learned: the SQLite outbox through
/// the journal on a single node (`JournalOutbox`), the rooms' Redis lists in a cluster.
public protocol OutboxSource: AnyObject, Sendable {
    /// Parked events when delivery starts (for the gauge).
    func parkedCount() throws -> Int
    /// Events to deliver that this source has not handed out yet, oldest first, at most `limit`.
    /// `cursor` is the highest `seq` delivery has seen (a single store's events are numbered in
    /// one sequence; a source may ignore it).
    func load(after cursor: Int64, limit: Int) throws -> [OutboxEvent]
    /// What an attempt came to (on a delivery thread).
    func record(_ change: OutboxChange, of event: OutboxEvent)
    /// Puts a parked event back in line; `done(true)` once that is stored.
    func replay(_ event: OutboxEvent, _ done: @escaping @Sendable (Bool) -> Void)
    /// False once this process no longer delivers `room` (a cluster node that gave the room up).
    func delivers(_ room: String) -> Bool
    /// Seconds between looks for new events when nothing wakes delivery (nil: only when woken).
    var pollInterval: Double? { get }
}

/// A single node's outbox: the `outbox` table, read through a read-only connection of its own,
/// and changed through the journal (the store's one writer), so delivery never contends with
/// order commits.
public final class JournalOutbox: OutboxSource, @unchecked Sendable {
    private let reader: SQLiteOrderStore
    private let journal: GroupCommitJournal

    /// - Parameter reader: used by one delivery thread at a time (the one loading).
    public init(reader: SQLiteOrderStore, journal: GroupCommitJournal) {
        self.reader = reader
        self.journal = journal
    }

    public func parkedCount() throws -> Int { try self.reader.outbox(after: 0, parked: true, limit: Int.max).count }

    public func load(after cursor: Int64, limit: Int) throws -> [OutboxEvent] { try self.reader.outbox(after: cursor, limit: limit) }

    public func record(_ change: OutboxChange, of event: OutboxEvent) { self.journal.record(change) }

    public func replay(_ event: OutboxEvent, _ done: @escaping @Sendable (Bool) -> Void) {
        self.journal.record(.replay(seq: event.seq), completion: done)
    }

    public func delivers(_ room: String) -> Bool { true }

    public var pollInterval: Double? { nil }
}
