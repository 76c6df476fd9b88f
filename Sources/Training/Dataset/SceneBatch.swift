import Numerics

extension SceneGenerator {
    /// Scenes `indices` as one image batch [B, 3, S, S] in −1...1, with their captions.
    public func batch(_ indices: [Int]) -> (images: Tensor, captions: [String], scenes: [Scene]) {
        let scenes = indices.map(scene)
        let plane = 3 * side * side
        var values = [Float](repeating: 0, count: scenes.count * plane)
        for (b, s) in scenes.enumerated() { for i in 0..<plane { values[b * plane + i] = s.image.pixels[i] * 2 - 1 } }
        return (Tensor(values, shape: [scenes.count, 3, side, side]), scenes.map(\.caption), scenes)
    }
}
