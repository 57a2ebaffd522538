import OrderJournal
import Synchronization

/// Whether this server should be sent traffic: not while it drains, nor while its store cannot be
/// written. Set by the drain (any thread), read by `/readyz` on the loops.
final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)
    private let journal: GroupCommitJournal?

    init(journal: GroupCommitJournal?) {
        self.journal = journal
    }

    var isDraining: Bool { self.draining.load(ordering: .acquiring) }

    func beginDrain() { self.draining.store(true, ordering: .releasing) }

    /// Why the server is not ready, or nil when it is.
    var problem: String? {
        if self.isDraining { return "draining" }
        if let journal = self.journal, !journal.isHealthy { return "store not writable" }
        return nil
    }
}
