import Diffusion
import Foundation
import Graphics
import Inversion
import Jupyter
import Numerics

/// The commands that set up what is learned and how: the concept, the timestep strategy, the optimiser.
extension SessionCommands {
    static let concept = CommandSpec(
        "concept", summary: "Start learning a concept from a few images.",
        details:
            "Adds placeholder token(s) <NAME> (and <NAME>_1, … for several vectors) initialised from the init word "
            + "(a phrase of several tokens is spread over as many vectors or more: init=\"stuffed animal\" vectors=2), "
            + "prepares the images (PNG, JPEG or WebP of any size, upright by their EXIF orientation; the centre "
            + "square resized to the model's resolution with Pillow's antialiased bicubic, as diffusers' "
            + "textual-inversion script does) and encodes them and their mirror "
            + "images once with the VAE. Training prompts: textual inversion's templates for an object or a "
            + "style (\"a photo of a {}\", …), or with kind=captions each image's own caption, read from "
            + "the text file next to it (cat.png: cat.txt, one line such as \"a {} on a red "
            + "background\", {} for the concept; several lines are alternatives; kohya's and A1111's captions, "
            + "without {}, take the concept where the init word stands, else in front: \"{}, …\"), or an A1111 "
            + "template file (templates=FILE: [name] for the concept, [filewords] for each image's caption or file "
            + "name); captioned images are not mirrored, as a "
            + "caption may name a side. Without kind, captions are used when every image "
            + "has a usable one (a note says why when some are not). crop=random draws a square of ½ to 1 times the "
            + "shorter side at a random place at each step (images kept at most at twice the training size; one VAE "
            + "encoding per sample, so slower); resolution=R trains below the model's native size, a cost control on "
            + "CPU, at the price of a concept learned at a size the model rarely saw: generate at the native size to "
            + "check it.",
        arguments: [
            ArgumentSpec("NAME", .text, help: "the concept's name; its token is <NAME>"),
            ArgumentSpec("from", .keyword("from"), help: "the word `from`"),
            ArgumentSpec(
                "PATH", .path(extensions: ["png", "jpg", "jpeg", "webp"]), count: .oneOrMore,
                help: "images (PNG, JPEG, WebP), folders of them, or patterns")
        ],
        options: [
            OptionSpec(
                "init", .text, default: "object",
                help: "the word the vectors start from (a phrase: one token a vector, in order)"),
            OptionSpec("vectors", .integer(1...16), default: "1", help: "how many vectors (tokens) to learn"),
            OptionSpec(
                "kind", .choice(ConceptKind.allCases.map(\.rawValue)),
                note: "captions if every image has a usable IMAGE.txt, else object",
                help: "train with the object or style templates, or each image's caption"),
            OptionSpec(
                "templates", .path(extensions: ["txt"]), note: "none",
                help: "an A1111 template file ([name], [filewords]) for each image's captions"),
            OptionSpec(
                "crop", .choice(ConceptPreparation.Crop.allCases.map(\.rawValue)), default: "center",
                help: "the centre square, encoded once; or a random square at each step"),
            OptionSpec(
                "flip", .number(0...1), note: "0.5, or 0 with captions",
                help: "the chance that a training image is mirrored"),
            OptionSpec(
                "resolution", .integer(8...4096), note: "the model's native size",
                help: "the training side: a multiple of 64 from 128 to the native size (for SD)")
        ],
        examples: [
            "concept cat-toy from images/*.png init=toy", "concept dog from photos/dog/ init=dog",
            "concept teapot from data/emoji-benchmark/teapot init=pot",
            "concept watercolor from style/*.png kind=style vectors=2",
            "concept dog from photos/dog/ init=dog crop=random resolution=256"
        ]
    ) { call, context in
        let session = try context.workspace.requireSession()
        var urls: [URL] = []
        for path in call.values("PATH") { urls += try expandPattern(path).map(\.url) }
        try session.setConcept(
            name: call.value("NAME") ?? "", images: urls, initWord: try call.option("init"),
            vectors: try call.int("vectors"),
            kind: call.givenOption("kind").flatMap(ConceptKind.init(rawValue:)),
            templates: call.givenOption("templates").map(resolvePath),
            preparation: ConceptPreparation(
                crop: ConceptPreparation.Crop(rawValue: try call.option("crop")) ?? .center,
                flip: try call.givenDouble("flip"), resolution: try call.givenInt("resolution")),
            shouldStop: { try context.checkCancellation() })
        guard let concept = session.concept else { return }
        if let ignored = concept.ignoredCaptions {
            context.io.stream("note: the caption files next to the images are not used (\(ignored))\n", to: .stderr)
        }
        context.io.stream(
            "concept \(concept.name): \(concept.images.count) images, tokens \(concept.placeholder), from "
                + "\"\(try call.option("init"))\", trained with "
                + "\(concept.kind == .captions ? "their captions" : "the \(concept.kind.rawValue) templates")"
                + (concept.preparation == ConceptPreparation() ? "" : " (\(concept.preparation.summary))") + "\n"
        )
    }

    static let strategy = CommandSpec(
        "strategy", summary: "Choose how training timesteps are sampled.",
        details: """
            uniform [A B]: uniform over [A, B) (default [0, T)); range A B: the same; single T: only T; \
            adaptive: probability ∝ an on-the-fly estimate of g(t) per bin (Eq. 5), seeded by the last profile; \
            highgrad: the width-W interval with the highest profiled g(t). `strategy` alone shows the current one.
            """,
        arguments: [
            ArgumentSpec(
                "KIND", .choice(["uniform", "range", "single", "adaptive", "highgrad"]), count: .optional,
                help: "the strategy"),
            ArgumentSpec("T", .integer(0...100_000), count: .any, help: "timesteps for uniform, range and single")
        ],
        options: [
            OptionSpec(
                "bins", .integer(1...1000), default: "\(TimestepStrategy.Defaults.bins)",
                help: "adaptive: number of timestep bins"),
            OptionSpec(
                "floor", .number(0...1), default: "\(TimestepStrategy.Defaults.floor)",
                help: "adaptive: share of uniform sampling"),
            OptionSpec(
                "ema", .number(0.001...1), default: "\(TimestepStrategy.Defaults.ema)",
                help: "adaptive: smoothing of the g(t) estimates"),
            OptionSpec(
                "width", .integer(1...100_000), default: "\(TimestepStrategy.Defaults.width)",
                help: "highgrad: interval width"),
            gOption(
                help: "adaptive, highgrad: the definition of g(t) followed (norm: Eq. 4; mse: the loss's gradient; "
                    + "jacobian: ‖∂ε/∂c‖, with probes)"),
            OptionSpec(
                "from", .choice(ProfileSource.allCases.map(\.rawValue)), default: ProfileSource.concept.rawValue,
                help: "highgrad: the concept's last profile, or the model's (`profile model`, the paper's way)"),
            OptionSpec(
                "probes", .integer(1...64), note: "unchanged (initially 4)",
                help: "adaptive g=jacobian: random probes per sample and step (one backward pass each)"),
            OptionSpec(
                "reweight", .choice(["true", "false"]), default: "false",
                help: "weigh losses by 1/(T·p(t)) (the measured norms stay unweighted)")
        ],
        examples: [
            "strategy uniform", "strategy range 350 450", "strategy single 400", "strategy adaptive bins=20",
            "strategy highgrad width=100", "strategy highgrad from=model", "strategy adaptive g=mse"
        ]
    ) { call, context in
        let session = try context.workspace.requireSession()
        guard let kind = call.value("KIND") else {
            guard call.options.isEmpty else {
                throw CommandError("options need a strategy: for example `strategy adaptive bins=10`")
            }
            context.io.stream(strategyLine(session) + "\n")
            return
        }
        let numbers = call.values("T").compactMap(Int.init)
        func g() throws -> GradientDefinition { GradientDefinition(rawValue: try call.option("g")) ?? .default }
        let T = session.pipeline.schedule.trainSteps
        let chosen: TimestepStrategy
        switch (kind, numbers.count) {
        case ("uniform", 0): chosen = .range(0, T)
        case ("uniform", 2), ("range", 2): chosen = .range(numbers[0], numbers[1])
        case ("single", 1): chosen = .single(numbers[0])
        case ("adaptive", 0):
            chosen = .adaptive(
                bins: try call.int("bins"), floor: try call.double("floor"), ema: try call.double("ema"), g: try g())
        case ("highgrad", 0):
            chosen = .highGrad(
                width: try call.int("width"), g: try g(),
                from: ProfileSource(rawValue: try call.option("from")) ?? .concept)
        default:
            let wanted = [
                "single": "one timestep", "range": "two timesteps A B", "uniform": "none or two timesteps A B"
            ]
            throw CommandError("`strategy \(kind)` takes \(wanted[kind] ?? "no timesteps"), not \(numbers.count)")
        }
        try session.setStrategy(chosen)
        var settings = session.settings
        settings.importanceWeighting = try call.option("reweight") == "true"
        if let probes = try call.givenInt("probes") { settings.probes = probes }
        // Training goes on: the optimiser's moments and the generators are kept (`optimizer reset` starts over).
        try session.configure(settings)
        context.io.stream(strategyLine(session) + "\n")
    }

    /// The strategy and the timesteps it can draw, as `strategy` and `info` show them.
    static func strategyLine(_ session: InversionSession) -> String {
        "strategy: \(session.sampler.strategy) → t in [\(session.sampler.allowed.lowerBound), "
            + "\(session.sampler.allowed.upperBound))"
    }
}
