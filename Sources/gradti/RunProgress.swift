import Foundation
import Jupyter
import Synchronization

/// SIGINT and SIGTERM during `gradti invert`: the first is noted and the run stops at its next safe
/// point (between batches) to save; a second quits at once.
final class StopSignals: Sendable {
    struct Stopped: Error { let number: Int32 }

    /// The signal received (0: none). Static: a C signal handler cannot capture.
    private static let received = Atomic<Int32>(0)

    static func install() -> StopSignals {
        for number in [SIGINT, SIGTERM] {
            signal(number) { number in
                let (exchanged, _) = StopSignals.received.compareExchange(
                    expected: 0, desired: number, ordering: .relaxed)
                guard !exchanged else { return }
                // A second signal: the user insists. Only async-signal-safe calls here.
                let message: StaticString = "\ngradti invert: second signal, quitting without saving\n"
                _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
                _exit(128 + number)
            }
        }
        return StopSignals()
    }

    /// Throws `Stopped` once a signal has come.
    func check() throws {
        let number = Self.received.load(ordering: .relaxed)
        if number != 0 { throw Stopped(number: number) }
    }
}

/// Progress of an unattended run: a live line (redrawn at most 4 times a second, with the time left)
/// when stderr is a terminal; otherwise, for log files, a line on stdout every `logEvery` steps.
final class RunProgress {
    private let total: Int
    private let first: Int
    private let logEvery: Int
    private let terminal = isatty(STDERR_FILENO) != 0
    private let started = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private var drawn = false

    init(total: Int, first: Int, logEvery: Int) {
        (self.total, self.first, self.logEvery) = (total, first, logEvery)
    }

    func update(_ done: Int, note: String) {
        let text = ProgressText(
            title: "invert", completed: done, total: total, note: note,
            elapsed: started.duration(to: .now))
        if terminal {
            guard ContinuousClock.now - lastDrawn >= .milliseconds(250) || done == total else { return }
            lastDrawn = .now
            // \r and erase to the end of the line: one line, redrawn.
            FileHandle.standardError.write(Data(("\r" + text.line + "\u{1B}[K").utf8))
            drawn = true
        } else if done % logEvery == 0 || done == total {
            writeLine(text.line)
        }
    }

    /// Ends the live line, so what follows starts on a line of its own.
    func end() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A line on stdout, unbuffered: log files of runs under nohup read in order and up to date.
func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
