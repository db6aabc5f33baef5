# Homebrew formula: build porttune from source with cargo, with its man pages and shell
# completions. This repository is its own tap (Homebrew looks in Formula/):
#   brew tap porttune/porttune https://github.com/porttune/porttune
#   brew install --HEAD porttune
# (the tap's URL is where this repository is hosted; a release adds `url` and `sha256`).
class Porttune < Formula
  desc "Predict, lift and prove a host's concurrent TCP connection ceiling"
  homepage "https://github.com/porttune/porttune"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/porttune/porttune.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    system bin/"porttune", "man", "--dir", man1
    generate_completions_from_executable(bin/"porttune", "completions")
  end

  test do
    # Exit 0, or 1 when a check warns (launchd's soft limit of 256 does): both are answers.
    output = shell_output("#{bin}/porttune check --format json", nil)
    report = JSON.parse(output)
    assert_operator report["prediction"]["ceiling"], :>, 0
    # The macOS rung: xnu caps every process at kern.maxfilesperproc.
    assert_includes report["ceilings"].map { |c| c["name"] }, "max_files_per_proc"
    assert_match "porttune-check", shell_output("#{bin}/porttune man check")
  end
end
