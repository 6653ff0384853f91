package canary

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// privateDir makes dir the agent's own directory for artifacts, which hold
// the pages of failed runs: created 0700 when missing, and refused when it
// is a symbolic link, not a directory, lets other users write, or (where
// the system has owners) belongs to another user. A directory that someone
// else prepared under a shared parent such as /tmp would let them read
// every failed page and replace the files the web UI serves.
func privateDir(dir string) error {
	if dir == "" {
		return errors.New("artifacts.dir is required: name a directory of the agent's own")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return fmt.Errorf("artifacts.dir %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("artifacts.dir %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("artifacts.dir %s: %w", dir, err)
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("artifacts.dir %s is a symbolic link; name a real directory of the agent's own", dir)
	case !info.IsDir():
		return fmt.Errorf("artifacts.dir %s is not a directory; remove it or name another", dir)
	}
	if uid, ok := fileOwner(info); ok && uid != os.Geteuid() {
		return fmt.Errorf("artifacts.dir %s is owned by uid %d, not by this agent's uid %d, who could then read and replace its files; remove it, or set browser.artifacts.dir to a directory of the agent's own",
			dir, uid, os.Geteuid())
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("artifacts.dir %s lets other users write (mode %#o); chmod 0700 %s, or name another directory", dir, perm, dir)
	}
	return nil
}
