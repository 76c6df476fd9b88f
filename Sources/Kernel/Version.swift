public enum Gradti {
    public static let version = "0.1.0"
    public static let banner = """
        gradti \(version): textual inversion for diffusion models, with gradient-guided timesteps.
        Type `help` for the commands, `COMMAND?` for one command's help.
        """
}
