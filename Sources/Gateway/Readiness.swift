import OrderJournal
import Synchronization

/// Whether this server should be sent traffic: not while it drains, nor while its store cannot be
/// written. Set by the drain (any thread), read by `/readyz` on the loops.
final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)
    private let journal: GroupCommitJournal?
    /// Cluster mode: both Redis connections are up.
    private let cluster: ClusterNode?

    init(journal: GroupCommitJournal?, cluster: ClusterNode? = nil) {
        self.journal = journal
        self.cluster = cluster
    }

    var isDraining: Bool { self.draining.load(ordering: .acquiring) }

    func beginDrain() { self.draining.store(true, ordering: .releasing) }

    /// Why the server is not ready, or nil when it is.
    var problem: String? {
        if self.isDraining { return "draining" }
        if let journal = self.journal, !journal.isHealthy { return "store not writable" }
        if let cluster = self.cluster, !cluster.isReady { return "redis unreachable" }
        return nil
    }
}
