import Foundation
import Graphics
import Jupyter

/// The commands every gradti kernel has, whatever model is loaded.
enum Builtins {
    static let all: [CommandSpec] = [help, print, show, version, clear, sleep]

    static let help = CommandSpec(
        "help", summary: "List the commands, or explain one.",
        arguments: [ArgumentSpec("COMMAND", .command, count: .optional, help: "the command to explain")],
        examples: ["help", "help show", "show?   # the same, in the pager"]
    ) { call, context in
        if let name = call.value("COMMAND"), let spec = context.registry[name] {
            context.io.display(HelpText.command(spec))
        } else {
            context.io.display(HelpText.overview(context.registry))
        }
    }

    static let print = CommandSpec(
        "print", summary: "Write text to the output.",
        details:
            "The words are joined by single spaces and ended with a newline. Quote text to keep spaces, `#` or `=`.",
        arguments: [ArgumentSpec("TEXT", .text, count: .any, help: "the words to write")],
        options: [OptionSpec("stream", .choice(["stdout", "stderr"]), default: "stdout", help: "where to write")],
        examples: ["print hello", "print \"a photo of <S*>\"", "print \"careful\" stream=stderr"]
    ) { call, context in
        let stream: ExecutionIO.Stream = try call.option("stream") == "stderr" ? .stderr : .stdout
        context.io.stream(call.values("TEXT").joined(separator: " ") + "\n", to: stream)
    }

    /// Above this many files, `show` reports progress while it reads them.
    static let progressThreshold = 10

    static let show = CommandSpec(
        "show", summary: "Show images inline (PNG, JPEG, WebP).",
        details: """
            One file becomes an image output (with a text fallback naming the file and its size); several \
            become one grid, each fitted into a \(ImageGrid.cell)-pixel cell with its file name underneath \
            (grid=false: one output each). Opaque images under \(PNGFile.enlargeBelow) pixels are shown enlarged \
            by a whole factor, pixels kept sharp; JPEG and WebP are shown upright (EXIF orientation), and images \
            over \(PNGFile.shrinkAbove) pixels scaled down. Patterns with `*`, `?` and `[...]` are expanded and a \
            folder stands for its image files; paths are relative to the kernel's working directory (a file or \
            folder named `concept` is `./concept`). With \(progressThreshold) or more files a progress bar shows how \
            far it is; an interrupt stops between files.
            """,
        arguments: [
            ArgumentSpec(
                "PATH", .path(extensions: ["png", "jpg", "jpeg", "webp"]), count: .oneOrMore,
                help: "image files (PNG, JPEG, WebP), folders of them, or patterns")
        ],
        options: [
            OptionSpec(
                "grid", .choice(["true", "false"]), default: "true",
                help: "several files as one grid with their names; false: one output each"),
            OptionSpec("columns", .integer(1...16), default: "4", help: "the grid's columns")
        ],
        examples: [
            "show kernelspec/logo-64x64.png", "show \"my images/*.png\"", "show photos/ columns=3", "show concept"
        ],
        subcommands: [
            CommandSpec("concept", summary: "Show the session's concept images, as prepared for the model.") {
                _, context in try SessionCommands.showConcept(context)
            }
        ]
    ) { call, context in
        var files: [(url: URL, name: String)] = []
        for path in call.values("PATH") { files += try expandPattern(path) }
        // Check every file first, so a typo in the last path does not leave half the images shown.
        let asGrid = try files.count > 1 && call.option("grid") == "true"
        var images: [PNGFile] = []
        var grid = ImageGrid()
        let progress = files.count >= progressThreshold ? context.progress("reading", total: files.count) : nil
        do {
            for (index, file) in files.enumerated() {
                try context.checkCancellation()
                if asGrid {
                    try grid.add(file.url, shownAs: file.name)
                } else {
                    images.append(try PNGFile(file.url, shownAs: file.name))
                }
                progress?.update(index + 1, note: file.url.lastPathComponent)
            }
        } catch {
            progress?.finish("stopped after \(images.count + grid.thumbnails.count) of \(files.count) files")
            throw error
        }
        progress?.finish("read \(files.count) image files")
        if asGrid {
            let (bundle, metadata) = try grid.bundle(columns: min(try call.int("columns"), files.count))
            context.io.display(bundle, metadata: metadata)
        }
        for image in images { context.io.display(image.bundle, metadata: image.metadata) }
    }

    static let version = CommandSpec("version", summary: "The gradti version, as the cell's value.") { _, context in
        context.io.result(["text/plain": .string("gradti \(Gradti.version)")])
    }

    static let clear = CommandSpec(
        "clear", summary: "Clear this cell's output so far.",
        options: [
            OptionSpec(
                "wait", .choice(["true", "false"]), default: "false",
                help: "keep the old output until new output arrives (avoids flicker in loops)")
        ]
    ) { call, context in
        context.io.clearOutput(wait: try call.option("wait") == "true")
    }

    static let sleep = CommandSpec(
        "sleep", summary: "Wait, showing progress; an interrupt ends it early.",
        details: "Handy in demos and to see how a front end shows progress and interrupts.",
        arguments: [ArgumentSpec("SECONDS", .number(0...86_400), help: "how long to wait")],
        examples: ["sleep 2"]
    ) { call, context in
        let seconds = Double(call.value("SECONDS") ?? "0") ?? 0
        let tick = 0.05
        let ticks = Int((seconds / tick).rounded(.up))
        let progress = context.progress("sleep \(call.value("SECONDS") ?? "")s", total: max(ticks, 1))
        let start = ContinuousClock.now
        for index in 0..<ticks {
            do { try context.checkCancellation() } catch {
                progress.finish(
                    String(
                        format: "interrupted after %.2f of %@ s",
                        (ContinuousClock.now - start).seconds, call.value("SECONDS") ?? ""))
                throw error
            }
            Thread.sleep(forTimeInterval: min(tick, seconds - Double(index) * tick))
            progress.update(index + 1)
        }
        progress.update(max(ticks, 1))
        progress.finish(String(format: "slept %.2f s", (ContinuousClock.now - start).seconds))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
