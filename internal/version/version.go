// Package version holds the build's version string, set at link time with
// -ldflags "-X github.com/nines-dev/nines/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release this binary was built from.
var Version = "dev"

// String returns Version, or the module version the Go toolchain stamped
// when the binary was installed with go install.
func String() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return Version
}
