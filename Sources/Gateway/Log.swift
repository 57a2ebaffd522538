import Glibc
import JSON
import Synchronization
import Transport

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

    /// The least severe level written. Set at startup, and by tests on many threads: atomic.
    public static var level: Level {
        get { Level(rawValue: levelStorage.load(ordering: .relaxed)) ?? .info }
        set { levelStorage.store(newValue.rawValue, ordering: .relaxed) }
    }
    private static let levelStorage = Atomic<Int>(Level.info.rawValue)

    /// logfmt (the default) or one JSON object per line (`log_format: "json"`), for log shippers.
    public static var json: Bool {
        get { jsonStorage.load(ordering: .relaxed) }
        set { jsonStorage.store(newValue, ordering: .relaxed) }
    }
    private static let jsonStorage = Atomic<Bool>(false)

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
        var line = Self.line(level, message, fields, json: json, at: WallClock.nowMillis())
        // One write(2) per line on descriptor 2: lines from different loops never interleave, and
        // no shared FILE buffer is involved.
        _ = line.withUTF8 { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// One log line (with its newline), logfmt or JSON.
    static func line(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, Any>, json: Bool, at millis: Int64) -> String {
        let ts = rfc3339(millis)
        var line: String
        if json {
            var writer = JSONWriter()
            writer.value(
                .object(
                    [("ts", .string(ts)), ("level", .string(level.name)), ("msg", .string(message))]
                        + fields.map { ($0.key, .string(String(describing: $0.value))) }))
            line = String(decoding: writer.bytes, as: UTF8.self)
        } else {
            line = "ts=\(ts) level=\(level.name) msg=\(quote(message))"
            for (key, value) in fields { line += " \(key)=\(quote(String(describing: value)))" }
        }
        return line + "\n"
    }

    /// RFC 3339 in UTC with milliseconds: 2026-12-01T03:45:12.345Z.
    static func rfc3339(_ millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = String(Int(millis % 1000) + 1000).dropFirst()
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
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
