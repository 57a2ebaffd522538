import Glibc

/// The process as the operating system sees it: memory, descriptors, CPU, start time — for
/// `/metrics` (the standard `process_*` names) and for the descriptor check at startup.
enum ProcessStats {
    /// Resident memory in bytes (/proc/self/statm).
    static var residentBytes: Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard fscanf_two(file, &size, &resident) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanf_two(_ file: UnsafeMutablePointer<FILE>, _ first: inout Int, _ second: inout Int) -> Bool {
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, 128, file) != nil else { return false }
        let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let a = Int(fields[0]), let b = Int(fields[1]) else { return false }
        first = a
        second = b
        return true
    }

    /// Open file descriptors (entries of /proc/self/fd, less the one used to read it).
    static var openDescriptors: Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { count += 1 }
        }
        return max(0, count - 1)
    }

    /// The soft and hard limits on open descriptors.
    static var descriptorLimits: (soft: Int, hard: Int) {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return (Int(clamping: limit.rlim_cur), Int(clamping: limit.rlim_max))
    }

    /// User plus system CPU seconds used so far.
    static var cpuSeconds: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }

    /// Raises the soft descriptor limit to the hard one (every connection is a descriptor) and
    /// says whether `maxConnections` still fits: nil when it does, else the warning to log.
    static func raiseDescriptorLimit(forConnections maxConnections: Int) -> String? {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let soft = Self.descriptorLimits.soft
        // Listeners, eventfds, timers, the store and Redis: a few dozen besides connections.
        let headroom = 64
        guard maxConnections + headroom > soft else { return nil }
        return "limits.max_connections (\(maxConnections)) needs about \(maxConnections + headroom) open files, "
            + "but the limit is \(soft) (hard limit reached): at that point accepts back off. "
            + "Raise LimitNOFILE / ulimit -n, or lower limits.max_connections"
    }
}
