//go:build unix

package canary

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What was seen: the artifact directory defaulted to a predictable name
// under the world-writable temp directory and was used when another user
// already owned it, who could then read every failed run's page and swap
// its files. The directory is now the agent's own: created 0700, and
// refused when it is a symbolic link, belongs to another user, or lets
// others write.
func TestArtifactDirIsPrivate(t *testing.T) {
	otherUser := func(t *testing.T, dir string) string {
		// A directory another user owns: as root, give one away; as
		// anyone else, root's own /usr is one.
		if os.Geteuid() != 0 {
			return "/usr"
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the directory to use
		wantErr string                                // "" when the directory is accepted
	}{
		{"a missing directory is created for the agent alone", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "state", "artifacts")
		}, ""},
		{"a directory of the agent's own that others cannot write is used as it is", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifacts")
			mustMkdir(t, p, 0o750)
			return p
		}, ""},
		{"a world-writable directory is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifacts")
			mustMkdir(t, p, 0o777)
			return p
		}, "lets other users write (mode 0777); chmod 0700 "},
		{"a group-writable directory is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifacts")
			mustMkdir(t, p, 0o770)
			return p
		}, "lets other users write (mode 0770)"},
		{"a symbolic link is refused, even to a directory of the agent's own", func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "real")
			mustMkdir(t, real, 0o700)
			link := filepath.Join(dir, "artifacts")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "is a symbolic link; name a real directory"},
		{"a directory another user owns is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifacts")
			mustMkdir(t, p, 0o700)
			return otherUser(t, p)
		}, "is owned by uid "},
		{"a file is refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "artifacts")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "is not a directory"},
		{"no directory at all is refused", func(t *testing.T, dir string) string { return "" }, "artifacts.dir is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.prepare(t, t.TempDir())
			_, err := newArtifactStore(ArtifactConfig{Dir: dir, MaxAge: time.Hour, MaxPerCanary: 1})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				info, err := os.Lstat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if perm := info.Mode().Perm(); perm&0o022 != 0 {
					t.Errorf("mode %#o: others can write", perm)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || (dir != "" && !strings.Contains(err.Error(), dir)) {
				t.Errorf("error %v, want one naming %s and %q", err, dir, tc.wantErr)
			}
		})
	}
}

// A directory the store creates is 0700 whatever the umask lets through.
func TestArtifactDirIsCreated0700(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "artifacts")
	if _, err := newArtifactStore(ArtifactConfig{Dir: dir, MaxAge: time.Hour, MaxPerCanary: 1}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("mode %#o, want 0700", perm)
	}
}

func mustMkdir(t *testing.T, p string, perm os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
}
