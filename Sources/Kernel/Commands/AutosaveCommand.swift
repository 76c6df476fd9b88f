import Foundation
import Inversion
import Numerics

/// `autosave`: saves of the session and embedding while `step` runs, for runs left unattended.
extension SessionCommands {
    static let autosaveOff = CommandSpec("off", summary: "Stop saving during `step`.") { _, context in
        context.workspace.autosave = nil
        context.io.stream("autosave: off\n")
    }

    static let autosave = CommandSpec(
        "autosave", summary: "Save the session and the embedding every K steps while `step` runs.",
        details:
            "Every K steps of `step`, the session (to resume with `load session`) and the embedding (to use, or to "
            + "load in diffusers) are written atomically into the folder as CONCEPT-stepNNNNNNN.session.safetensors "
            + "and CONCEPT-stepNNNNNNN.safetensors; only the last N of each are kept, so a stopped or crashed run "
            + "loses at most K steps. A failed save (a full disk) stops `step` with the error, keeping the steps "
            + "done. Without options, shows the setting.",
        options: [
            OptionSpec("every", .integer(1...1_000_000), note: "required to turn it on", help: "steps between saves"),
            OptionSpec("keep", .integer(1...1000), default: "3", help: "how many saves to keep"),
            OptionSpec("path", .path(extensions: []), note: "outputs/autosave", help: "the folder")
        ],
        examples: ["autosave every=100", "autosave every=50 keep=5 path=runs/cat", "autosave off"],
        subcommands: [autosaveOff]
    ) { call, context in
        let workspace = context.workspace
        if let every = try call.givenInt("every") {
            let folder =
                call.givenOption("path").map(resolvePath) ?? workspace.outputFolder.appendingPathComponent("autosave")
            workspace.autosave = Autosave(every: every, keep: try call.int("keep"), folder: folder)
        } else if !call.options.isEmpty {
            throw CommandError("`autosave` needs every=K to turn it on (for example `autosave every=100`)")
        }
        guard let autosave = workspace.autosave else {
            context.io.stream("autosave: off (turn it on with `autosave every=K`)\n")
            return
        }
        context.io.stream(
            "autosave: every \(autosave.every) steps into \(displayPath(autosave.folder)), keeping the last "
                + "\(autosave.keep)\n")
    }
}
