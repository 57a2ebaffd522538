import Glibc

/// Structured log lines in logfmt (`ts=... level=info msg="..." key=value`) on stderr.
/// One line per event worth an operator's attention; never one per message at the default level.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case debug = 0, info, warn, error

        public init?(name: String) {
            switch name {
            case "debug": self = .debug
            case "info": self = .info
            case "warn": self = .warn
            case "error": self = .error
            default: return nil
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }
    }

    /// Set once at startup, before the loops run.
    nonisolated(unsafe) public static var level: Level = .info

    public static func debug(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        if level <= .debug { write(.debug, message(), fields()) }
    }

    public static func info(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        if level <= .info { write(.info, message, fields) }
    }

    public static func warn(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        if level <= .warn { write(.warn, message, fields) }
    }

    public static func error(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        write(.error, message, fields)
    }

    private static func write(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, Any>) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let millis = Int(spec.tv_sec) * 1000 + Int(spec.tv_nsec) / 1_000_000
        var line = "ts=\(millis / 1000).\(String(millis % 1000 + 1000).dropFirst()) level=\(level.name) msg=\(quote(message))"
        for (key, value) in fields { line += " \(key)=\(quote(String(describing: value)))" }
        line += "\n"
        _ = line.withCString { fputs($0, stderr) }
    }

    private static func quote(_ text: String) -> String {
        if !text.isEmpty && !text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return text }
        var escaped = "\""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped + "\""
    }
}
