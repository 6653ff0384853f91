package canary

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults of artifact retention.
const (
	DefaultArtifactMaxAge       = 7 * 24 * time.Hour
	DefaultArtifactMaxPerCanary = 20
	// artifactUploadTimeout bounds the upload of one failed run's files.
	artifactUploadTimeout = 30 * time.Second
)

// ArtifactConfig says where the files of failed browser runs go and how
// long they stay.
type ArtifactConfig struct {
	// Dir is the local directory, required: the agent's own, created
	// 0700 when missing (config's default is nines-artifacts beside the
	// config file, as the store and the spool are).
	Dir string
	// MaxAge and MaxPerCanary bound what stays in Dir: older runs, and
	// runs beyond the newest MaxPerCanary of a canary, are deleted after
	// each save. S3 keeps its own retention through a lifecycle rule.
	MaxAge       time.Duration
	MaxPerCanary int
	// S3 uploads every file to a bucket as well, when Bucket is set.
	S3 S3ArtifactConfig
	// Uploader replaces the S3 uploader built from S3; tests pass one.
	Uploader ArtifactUploader
}

// S3ArtifactConfig names the bucket artifacts are copied to.
type S3ArtifactConfig struct {
	Bucket string
	Prefix string
	Region string
	// Endpoint replaces the S3 endpoint, for a private or fake one.
	Endpoint string
	// Profile names the shared config profile; empty is AWS_PROFILE or
	// the default.
	Profile string
}

// ArtifactUploader copies one artifact somewhere durable and returns its
// URL.
type ArtifactUploader interface {
	Upload(ctx context.Context, key string, body []byte, contentType string) (url string, err error)
}

// S3Uploader uploads artifacts to an S3 bucket under a prefix.
type S3Uploader struct {
	client *s3.Client
	bucket string
	prefix string
}

// NewS3Uploader returns an uploader to bucket through client.
func NewS3Uploader(client *s3.Client, bucket, prefix string) (*S3Uploader, error) {
	if client == nil || bucket == "" {
		return nil, fmt.Errorf("an S3 uploader needs a client and a bucket")
	}
	return &S3Uploader{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
}

// Upload implements ArtifactUploader.
func (u *S3Uploader) Upload(ctx context.Context, key string, body []byte, contentType string) (string, error) {
	if u.prefix != "" {
		key = u.prefix + "/" + key
	}
	_, err := u.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(u.bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return "", err
	}
	return "s3://" + u.bucket + "/" + key, nil
}

// newS3Uploader builds an uploader from the agent's AWS configuration.
func newS3Uploader(cfg S3ArtifactConfig) (*S3Uploader, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("artifacts.s3: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
	})
	return NewS3Uploader(client, cfg.Bucket, cfg.Prefix)
}

// artifactStore keeps failed runs' files on disk and, when configured, in
// S3.
type artifactStore struct {
	dir          string
	maxAge       time.Duration
	maxPerCanary int
	uploader     ArtifactUploader
	now          func() time.Time
}

func newArtifactStore(cfg ArtifactConfig) (*artifactStore, error) {
	s := &artifactStore{
		dir:          cfg.Dir,
		maxAge:       cfg.MaxAge,
		maxPerCanary: cfg.MaxPerCanary,
		uploader:     cfg.Uploader,
		now:          time.Now,
	}
	if s.maxAge <= 0 {
		s.maxAge = DefaultArtifactMaxAge
	}
	if s.maxPerCanary <= 0 {
		s.maxPerCanary = DefaultArtifactMaxPerCanary
	}
	if err := privateDir(s.dir); err != nil {
		return nil, err
	}
	// Paths go into alerts, read far from the agent's working directory.
	if abs, err := filepath.Abs(s.dir); err == nil {
		s.dir = abs
	}
	if s.uploader == nil && cfg.S3.Bucket != "" {
		u, err := newS3Uploader(cfg.S3)
		if err != nil {
			return nil, err
		}
		s.uploader = u
	}
	return s, nil
}

// artifactFile is one file of a failed run.
type artifactFile struct {
	name        string
	data        []byte
	contentType string
}

// safeName keeps a canary or step name usable as one path segment.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			b[i] = '_'
		}
	}
	out := strings.ReplaceAll(string(b), "..", "__")
	if out == "" || out == "." {
		return "_"
	}
	return out
}

// runDirLayout names the directory of one run's files by the run's start,
// so that names sort in time order and retention reads the age from them.
const runDirLayout = "20060102T150405.000Z"

func runDir(start time.Time) string { return start.UTC().Format(runDirLayout) }

// runDirTime reads the start back from a directory name (which may carry a
// -2 suffix).
func runDirTime(name string) (time.Time, bool) {
	if len(name) < len(runDirLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(runDirLayout, name[:len(runDirLayout)])
	return t, err == nil
}

// save writes files under dir/canary/run/ and uploads them. It returns the
// local paths and URLs to report, the local ones first. An upload failure
// is returned with whatever was saved.
func (s *artifactStore) save(ctx context.Context, canary, run string, files []artifactFile) ([]string, error) {
	parent := filepath.Join(s.dir, safeName(canary))
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, err
	}
	// A second browser step of the same run gets a directory of its own.
	local, base := filepath.Join(parent, run), run
	for n := 2; ; n++ {
		err := os.Mkdir(local, 0o750)
		if err == nil {
			break
		}
		if !os.IsExist(err) || n > 100 {
			return nil, err
		}
		run = fmt.Sprintf("%s-%d", base, n)
		local = filepath.Join(parent, run)
	}
	var out []string
	for _, f := range files {
		p := filepath.Join(local, f.name)
		if err := os.WriteFile(p, f.data, 0o640); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	s.prune(parent, run)
	if s.uploader == nil {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, artifactUploadTimeout)
	defer cancel()
	for _, f := range files {
		url, err := s.uploader.Upload(ctx, path.Join(safeName(canary), run, f.name), f.data, f.contentType)
		if err != nil {
			return out, fmt.Errorf("uploading %s: %w", f.name, err)
		}
		out = append(out, url)
	}
	return out, nil
}

// prune applies the retention limits to one canary's directory, sparing
// the run just saved.
func (s *artifactStore) prune(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var runs []os.DirEntry
	for _, e := range entries {
		if e.IsDir() {
			runs = append(runs, e)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name() < runs[j].Name() })
	cutoff := s.now().Add(-s.maxAge)
	for i, e := range runs {
		tooMany := len(runs)-i > s.maxPerCanary
		tooOld := false
		if started, ok := runDirTime(e.Name()); ok {
			tooOld = started.Before(cutoff)
		} else if info, err := e.Info(); err == nil {
			tooOld = info.ModTime().Before(cutoff)
		}
		if (tooMany || tooOld) && e.Name() != keep {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
