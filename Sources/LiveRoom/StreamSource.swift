/// Where viewers watch the room's video: set by its streamer, stored with the room, sent in the
/// welcome (docs/STREAMING.md). Hometown carries the address; a media server or CDN carries the video.
public struct StreamSource: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// An HLS playlist (`.m3u8`): a live stream through a CDN, a few seconds behind.
        case hls
        /// A plain video file (MP4, WebM): a replay.
        case file
        /// A WebRTC WHEP endpoint: sub-second latency, for a sale opened on a spoken countdown.
        case whep
    }

    public var url: String
    public var kind: Kind
    /// A still shown while the stream is not playing.
    public var poster: String?

    public init(url: String, kind: Kind, poster: String? = nil) {
        self.url = url
        self.kind = kind
        self.poster = poster
    }

    /// The kind a URL names when the streamer does not say: `.m3u8` is HLS, a path with `whep` in
    /// it is WHEP, anything else a file.
    public static func kind(of url: String) -> Kind {
        let path = url.split(separator: "?").first.map(String.init)?.lowercased() ?? ""
        if path.hasSuffix(".m3u8") { return .hls }
        if path.contains("whep") { return .whep }
        return .file
    }
}
