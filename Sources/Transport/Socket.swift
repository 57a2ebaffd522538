import CLinux
import Glibc

/// The few socket calls the transport makes, wrapped with errors that name the call.
public enum Socket {
    /// A non-blocking listening socket on `host:port` (IPv4 or IPv6 literal, or "localhost").
    /// With `reusePort`, several loops can each own a listener on the same port and the kernel
    /// spreads new connections among them (SO_REUSEPORT), so accepting needs no hand-off.
    public static func listen(host: String, port: UInt16, reusePort: Bool, backlog: Int32 = 4096) throws -> Int32 {
        var address = try SocketAddress(host: host, port: port)
        let fd = hometown_socket_stream(address.family)
        guard fd >= 0 else { throw TransportError("socket") }
        _ = hometown_set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        if reusePort { _ = hometown_set_int_option(fd, SOL_SOCKET, HOMETOWN_SO_REUSEPORT, 1) }
        let bound = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = TransportError("bind \(host):\(port)")
            Glibc.close(fd)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = TransportError("listen")
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// A TCP connection to `host:port` (IPv4 or IPv6 literal, or "localhost"), with TCP_NODELAY.
    /// Non-blocking: the connect is under way when this returns (the loop learns the outcome).
    /// Blocking: connected, with `timeout` seconds on each later read and write.
    public static func connect(host: String, port: UInt16, nonBlocking: Bool, timeout: Double = 0) throws -> Int32 {
        var address = try SocketAddress(host: host, port: port)
        let fd = nonBlocking ? hometown_socket_stream(address.family) : hometown_socket_stream_blocking(address.family)
        guard fd >= 0 else { throw TransportError("socket") }
        if timeout > 0 {
            var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        }
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        guard result == 0 || (nonBlocking && errno == EINPROGRESS) else {
            let error = TransportError("connect \(host):\(port)")
            Glibc.close(fd)
            throw error
        }
        _ = hometown_set_int_option(fd, Int32(IPPROTO_TCP), HOMETOWN_TCP_NODELAY, 1)
        return fd
    }

    /// The port a socket is bound to (after binding port 0).
    public static func localPort(_ fd: Int32) throws -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw TransportError("getsockname") }
        if storage.ss_family == sa_family_t(AF_INET6) {
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Dotted form of an IPv4 address in host order.
    public static func format(ipv4 address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
    }
}

/// An IPv4 or IPv6 socket address.
public struct SocketAddress {
    private var storage = sockaddr_storage()
    public let family: Int32
    private let length: socklen_t

    public init(host: String, port: UInt16) throws {
        let name = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = v4
            withUnsafeMutablePointer(to: &self.storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee = address }
            }
            self.family = AF_INET
            self.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, name, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = v6
            withUnsafeMutablePointer(to: &self.storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee = address }
            }
            self.family = AF_INET6
            self.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw TransportError("parse address '\(host)'", errno: EINVAL)
        }
    }

    public mutating func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = self.length
        return withUnsafePointer(to: &self.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
