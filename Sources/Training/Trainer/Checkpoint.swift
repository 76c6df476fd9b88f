import Diffusion
import Foundation
import Numerics

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One model component being trained, kept in its diffusers/transformers folder: `config.json`, the
/// float32 weights under the library's file name, and `training-state.safetensors` (AdamW's moments
/// and the step), so a run stopped at any point resumes exactly from its last save.
public final class Checkpoint {
    public let folder: URL
    public let weightsFile: String
    /// The prefix the library's files put before every name (`text_model.` for CLIP's text tower).
    public let prefix: String
    public let parameters: [(name: String, tensor: Tensor)]
    public let optimizer: AdamW
    public var step: Int { optimizer.step }
    /// An exponential moving average of the weights (diffusion models sample better from it), when enabled.
    public private(set) var average: [Tensor]?
    public private(set) var averageDecay: Float = 0.999
    /// Whether `open` found a checkpoint to resume.
    public private(set) var resumed = false
    var stateURL: URL { folder.appendingPathComponent("training-state.safetensors") }
    public var logURL: URL { folder.appendingPathComponent("training-log.csv") }

    /// Resumes the checkpoint in `folder`, or starts one with random weights (seeded) and `config`.
    /// `build` makes the model with the weights it is given; its parameter tree is what is trained.
    public static func open<Model: ParameterizedModel>(
        folder: URL, config: [String: Any], weightsFile: String, prefix: String = "",
        seed: UInt64, initialization: RandomInit = .fanIn, learningRate: Float, weightDecay: Float = 1e-2,
        build: (ModelWeights) throws -> Model
    ) throws -> (Model, Checkpoint) {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let configURL = folder.appendingPathComponent("config.json")
        let resuming = fm.fileExists(atPath: folder.appendingPathComponent(weightsFile).path)
        let weights: ModelWeights
        if resuming {
            // A resumed run must keep its architecture: the stored config has to say what `config` says.
            guard let stored = (try? JSONSerialization.jsonObject(with: Data(contentsOf: configURL))) as? [String: Any]
            else {
                throw TrainingError(
                    "\(configURL.path) is missing or not JSON, but \(weightsFile) is there: a damaged checkpoint")
            }
            let differing = config.keys.filter { $0 != "scaling_factor" && !sameJSON(stored[$0], config[$0]) }.sorted()
            guard differing.isEmpty else {
                throw TrainingError(
                    "the checkpoint in \(folder.path) was made with other settings "
                        + "(\(differing.joined(separator: ", "))): train in another folder"
                )
            }
            weights = .checkpoint(
                try CheckpointFiles(folder: folder, names: [weightsFile], optionalPrefix: prefix, writable: true))
        } else {
            // A fresh start: nothing of an earlier run's state or log may leak in.
            for stale in ["training-state.safetensors", "training-log.csv"] {
                try? fm.removeItem(at: folder.appendingPathComponent(stale))
            }
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(
                to: configURL)
            weights = .random(seed: seed, initialization)
        }
        let model = try build(weights)
        let parameters = model.parameters.named
        for (_, tensor) in parameters { tensor.requiresGrad = true }
        let optimizer = AdamW(parameters.map(\.tensor), learningRate: learningRate, weightDecay: weightDecay)
        let checkpoint = Checkpoint(
            folder: folder, weightsFile: weightsFile, prefix: prefix, parameters: parameters, optimizer: optimizer)
        checkpoint.resumed = resuming
        if resuming {
            try checkpoint.restoreOptimizer()
            try checkpoint.trimLog()
        }
        return (model, checkpoint)
    }

    init(
        folder: URL, weightsFile: String, prefix: String, parameters: [(name: String, tensor: Tensor)], optimizer: AdamW
    ) {
        self.folder = folder
        self.weightsFile = weightsFile
        self.prefix = prefix
        self.parameters = parameters
        self.optimizer = optimizer
    }

    /// Keeps a moving average of the weights from now on (restored from the state file if saved there).
    public func enableAverage(decay: Float) throws {
        averageDecay = decay
        if resumed, FileManager.default.fileExists(atPath: stateURL.path), let state = try? SafeTensorsFile(stateURL),
            state.names.contains("ema." + (parameters.first?.name ?? ""))
        {
            average = try parameters.map { parameter in
                let saved = try state.tensor("ema." + parameter.name)
                guard saved.shape == parameter.tensor.shape else {
                    throw TrainingError(
                        "\(stateURL.path): ema.\(parameter.name) has shape \(saved.shape), the model "
                            + "\(parameter.tensor.shape)"
                    )
                }
                return saved.copy()
            }
        } else {
            average = parameters.map { $0.tensor.detached().copy() }
        }
    }

    /// Moves the average towards the weights (with the usual warm-up, so early weights fade fast).
    public func updateAverage() {
        guard let average else { return }
        let decay = min(averageDecay, Float(1 + step) / Float(10 + step))
        for (a, p) in zip(average, parameters.map(\.tensor)) {
            let pa = a.data
            let pp = p.data
            for i in 0..<a.count { pa[i] = decay * pa[i] + (1 - decay) * pp[i] }
        }
    }

    /// Runs `body` with the averaged weights in place of the trained ones (then puts those back).
    public func withAverage<T>(_ body: () throws -> T) rethrows -> T {
        guard let average else { return try body() }
        let saved = parameters.map { $0.tensor.detached().copy() }
        func copy(_ from: [Tensor]) {
            for (source, target) in zip(from, parameters.map(\.tensor)) {
                target.data.update(from: source.data, count: source.count)
            }
        }
        copy(average)
        defer { copy(saved) }
        return try body()
    }

    private func restoreOptimizer() throws {
        guard FileManager.default.fileExists(atPath: stateURL.path) else { return }  // weights only: fresh moments
        let state = try SafeTensorsFile(stateURL)
        guard let text = state.metadata["step"], let step = Int(text) else {
            throw TrainingError("\(stateURL.path): no step in the metadata")
        }
        let weights = try SafeTensorsFile(folder.appendingPathComponent(weightsFile))
        if let saved = weights.metadata["step"], saved != text {
            throw TrainingError(
                "\(folder.path): the weights are of step \(saved), the optimiser state of step \(text) (interrupted "
                    + "while saving?); keep the older pair or start over"
            )
        }
        func moments(_ prefix: String) throws -> [Tensor] {
            try parameters.map { parameter in
                let saved = try state.tensor(prefix + parameter.name)
                guard saved.shape == parameter.tensor.shape else {
                    throw TrainingError(
                        "\(stateURL.path): \(prefix)\(parameter.name) has shape \(saved.shape), the model "
                            + "\(parameter.tensor.shape)"
                    )
                }
                return saved.copy()
            }
        }
        optimizer.restore(step: step, first: try moments("m."), second: try moments("v."))
    }

    /// The parameter count.
    public var size: Int { parameters.map(\.tensor.count).reduce(0, +) }

    /// Writes the weights and the optimiser state (each under a temporary name, then renamed).
    public func save() throws {
        try SafeTensors.write(
            parameters.map { (prefix + $0.name, .float($0.tensor.detached(), .f32)) },
            metadata: ["format": "pt", "step": "\(optimizer.step)"], to: folder.appendingPathComponent(weightsFile))
        let (step, first, second) = optimizer.moments
        var tensors: [(String, SafeTensors.Value)] = []
        for (index, parameter) in parameters.enumerated() {
            tensors.append(("m." + parameter.name, .float(first[index], .f32)))
            tensors.append(("v." + parameter.name, .float(second[index], .f32)))
            if let average { tensors.append(("ema." + parameter.name, .float(average[index], .f32))) }
        }
        try SafeTensors.write(tensors, metadata: ["step": "\(step)"], to: stateURL)
    }

    /// Drops log rows of steps after the checkpoint's (logged after the last save of a stopped run).
    func trimLog() throws {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let kept = lines.enumerated().filter { index, line in
            index == 0 || (line.split(separator: ",").first.flatMap { Double($0) }.map { $0 <= Double(step) } ?? true)
        }.map(\.element)
        if kept.count < lines.count {
            try (kept.joined(separator: "\n") + "\n").write(to: logURL, atomically: true, encoding: .utf8)
        }
    }

    /// Appends a line to the training log (with a header when the log is new).
    public func log(_ values: [String: Double], header: [String]) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: logURL.path) {
            try (header.joined(separator: ",") + "\n").write(to: logURL, atomically: true, encoding: .utf8)
        }
        let line =
            header.map { key in values[key].map { String(format: "%.6g", $0) } ?? "" }.joined(separator: ",") + "\n"
        let handle = try FileHandle(forWritingTo: logURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
    }

    public func zeroGradients() { optimizer.zeroGradients() }
}

/// Whether two JSON values are equal (numbers by value, so 1 and 1.0 agree).
func sameJSON(_ a: Any?, _ b: Any?) -> Bool {
    func number(_ x: Any?) -> Double? {
        switch x {
        case let v as Int: return Double(v)
        case let v as Double: return v
        case let v as Float: return Double(v)
        case let v as NSNumber: return v.doubleValue
        default: return nil
        }
    }
    switch (a, b) {
    case (nil, nil): return true
    case (let x as String, let y as String): return x == y
    case (let x as Bool, let y as Bool): return x == y
    case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
    default:
        guard let x = number(a), let y = number(b) else { return false }
        return x == y
    }
}
