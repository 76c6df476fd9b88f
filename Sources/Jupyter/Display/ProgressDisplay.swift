import Foundation

/// A live progress display: one display_data with a display_id, updated in place at most
/// `maxUpdatesPerSecond` times a second (an HTML bar for notebooks, text for the rest) with the time
/// left (from the pace so far, once a second has passed), ending with a plain stdout line.
///
/// Terminal front ends (jupyter console) print the display once and ignore its updates, so a long
/// command also writes its progress as a stdout line redrawn with `\r`, which terminals and notebooks
/// both show as one moving line. Notebooks keep every stream update in the saved file, so that line is
/// sparse: from 5 s on, when progress has moved 5 points (at most every 5 s) or a minute has passed; a
/// two-hour run adds about 150 short updates.
public final class ProgressDisplay {
    private let io: ExecutionIO
    private let title: String
    private let total: Int
    private let displayID = UUID().uuidString.lowercased()
    private let minimumInterval: Duration
    private var lastShown: ContinuousClock.Instant
    private let started = ContinuousClock.now
    private var completed = 0
    private var note = ""
    private var finished = false
    private var lastStreamed: ContinuousClock.Instant?
    private var streamedPercent = 0
    private var streamedLength = 0

    public init(io: ExecutionIO, title: String, total: Int, maxUpdatesPerSecond: Double = 4) {
        self.io = io
        self.title = title
        self.total = max(total, 1)
        minimumInterval = .milliseconds(Int(1000 / maxUpdatesPerSecond))
        lastShown = .now
        io.display(bundle(), displayID: displayID)
    }

    /// Records progress; shows it only if the last update is old enough.
    public func update(_ completed: Int, note: String = "") {
        self.completed = min(max(completed, 0), total)
        self.note = note
        let now = ContinuousClock.now
        streamIfDue(now)
        guard now - lastShown >= minimumInterval else { return }
        lastShown = now
        io.updateDisplay(bundle(), displayID: displayID)
    }

    /// Shows the final state and prints `summary` as a line of its own.
    public func finish(_ summary: String) {
        guard !finished else { return }
        finished = true
        io.updateDisplay(bundle(), displayID: displayID)
        let line = summary.hasSuffix("\n") ? String(summary.dropLast()) : summary
        // Over the moving line, padded so that a terminal shows none of the longer line beneath.
        let padding = String(repeating: " ", count: max(streamedLength - line.count, 0))
        io.stream((lastStreamed == nil ? "" : "\r") + line + padding + "\n")
    }

    private func streamIfDue(_ now: ContinuousClock.Instant) {
        let elapsed = started.duration(to: now)
        guard elapsed >= .seconds(5) else { return }
        let text = ProgressText(title: title, completed: completed, total: total, note: note, elapsed: elapsed)
        if let last = lastStreamed {
            let moved = text.percent >= streamedPercent + 5 && now - last >= .seconds(5)
            guard moved || now - last >= .seconds(60) else { return }
        }
        let line = text.line
        let padding = String(repeating: " ", count: max(streamedLength - line.count, 0))
        io.stream("\r" + line + padding)
        (lastStreamed, streamedPercent, streamedLength) = (now, text.percent, line.count)
    }

    private func bundle() -> MimeBundle {
        let text = ProgressText(
            title: title, completed: completed, total: total, note: note, elapsed: started.duration(to: .now))
        let html =
            "<div style=\"font-family: monospace\"><progress value=\"\(completed)\" max=\"\(total)\" "
            + "style=\"width: 30ex; vertical-align: middle\"></progress> "
            + "\(escapeHTML(title)) \(text.count)\(escapeHTML(text.suffix))</div>"
        return ["text/plain": .string(text.line), "text/html": .string(html)]
    }
}

/// A progress line in plain text: `step [#########.....] 12/50 (24%)  loss 0.12  ETA 2m 05s`, the time
/// left from the pace so far (after the first second, before the end), "in 12s" at the end. Shared by
/// notebooks' bars and terminals' lines.
public struct ProgressText {
    public var title: String
    public var completed: Int
    public var total: Int
    public var note: String
    public var elapsed: Duration

    public init(title: String, completed: Int, total: Int, note: String = "", elapsed: Duration) {
        (self.title, self.completed, self.total, self.note, self.elapsed) =
            (title, completed, max(total, 1), note, elapsed)
    }

    public var percent: Int { Int((Double(completed) / Double(total) * 100).rounded(.down)) }

    /// "12/50 (24%)"
    public var count: String { "\(completed)/\(total) (\(percent)%)" }

    /// The note and the timing, each after two spaces.
    public var suffix: String { (note.isEmpty ? "" : "  " + note) + timing }

    public var line: String {
        let width = 30
        let filled = Int((Double(completed) / Double(total) * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "\(title) [\(bar)] \(count)\(suffix)"
    }

    var timing: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        guard seconds >= 1, completed > 0 else { return "" }
        if completed >= total { return "  in " + Self.duration(seconds) }
        return "  ETA " + Self.duration(seconds / Double(completed) * Double(total - completed))
    }

    /// 45s, 2m 05s, 1h 02m.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
        return String(format: "%dh %02dm", s / 3600, s % 3600 / 60)
    }
}

public func escapeHTML(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
