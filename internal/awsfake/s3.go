package awsfake

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nines-dev/nines/internal/clock"
)

// S3Config configures the S3 fake. Every field is optional.
type S3Config struct {
	Region    string      // default us-east-1
	AccountID string      // default 123456789012
	Clock     clock.Clock // default the wall clock
	// Buckets are created up front.
	Buckets []string
}

// S3 is a wire-level fake of Amazon S3 for path-style clients: REST with XML
// bodies, buckets in the path (http://host/bucket/key).
type S3 struct {
	faultyServer

	mu      sync.Mutex
	buckets map[string]*s3Bucket
}

type s3Bucket struct {
	created time.Time
	objects map[string]*S3Object
}

// S3Object is one stored object.
type S3Object struct {
	Body         []byte
	ContentType  string
	Metadata     map[string]string // keys in lower case, as S3 returns them
	ETag         string            // quoted, as on the wire
	LastModified time.Time
}

func (o *S3Object) clone() S3Object {
	c := *o
	c.Body = append([]byte(nil), o.Body...)
	c.Metadata = make(map[string]string, len(o.Metadata))
	for k, v := range o.Metadata {
		c.Metadata[k] = v
	}
	return c
}

// NewS3 starts an S3 fake. Close it when done.
func NewS3(cfg S3Config) *S3 {
	f := &S3{buckets: make(map[string]*s3Bucket)}
	f.operation = s3Operation
	f.writeError = s3WriteError
	f.throttleStatus = http.StatusServiceUnavailable
	f.throttleCode = "SlowDown"
	f.handle = f.serve
	f.start(cfg.Region, cfg.AccountID, cfg.Clock)
	for _, b := range cfg.Buckets {
		f.CreateBucket(b)
	}
	return f
}

// NewS3T starts an S3 fake that closes when t ends.
func NewS3T(t testing.TB, cfg S3Config) *S3 {
	t.Helper()
	f := NewS3(cfg)
	t.Cleanup(f.Close)
	return f
}

// Client returns a real path-style SDK client pointed at the fake. Its
// retryer is the SDK's standard one without backoff delay or retry quota,
// so tests of retries never sleep; optFns adjust the client further.
func (f *S3) Client(optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(f.clientConfig(), append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = true
	}}, optFns...)...)
}

// CreateBucket creates a bucket if it does not exist yet.
func (f *S3) CreateBucket(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[name]; !ok {
		f.buckets[name] = &s3Bucket{created: f.now(), objects: make(map[string]*S3Object)}
	}
}

// Object returns a copy of a stored object.
func (f *S3) Object(bucket, key string) (S3Object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return S3Object{}, false
	}
	o, ok := b.objects[key]
	if !ok {
		return S3Object{}, false
	}
	return o.clone(), true
}

// s3Split parses a path-style URL into bucket and key.
func s3Split(r *http.Request) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

func s3Operation(r *http.Request) string {
	bucket, key := s3Split(r)
	q := r.URL.Query()
	switch {
	case bucket == "":
		return "ListBuckets"
	case key == "":
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodGet:
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			return "ListObjects"
		}
	default:
		switch r.Method {
		case http.MethodPut:
			return "PutObject"
		case http.MethodGet:
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			return "DeleteObject"
		}
	}
	return r.Method
}

type s3ErrorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

func s3WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if r.Method == http.MethodHead {
		// A HEAD answer has no body; the SDK names the error by status.
		w.WriteHeader(status)
		return
	}
	s3WriteXML(w, status, s3ErrorBody{Code: code, Message: message, Resource: r.URL.Path, RequestID: "nines-fake-error", HostID: "nines-fake"})
}

func s3WriteXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

func (f *S3) serve(w http.ResponseWriter, r *http.Request, op string) {
	w.Header().Set("x-amz-request-id", f.requestID())
	bucket, key := s3Split(r)
	switch op {
	case "ListBuckets":
		f.listBuckets(w, r)
	case "CreateBucket":
		f.createBucket(w, r, bucket)
	case "HeadBucket":
		f.withBucket(w, r, bucket, func(*s3Bucket) { w.WriteHeader(http.StatusOK) })
	case "DeleteBucket":
		f.deleteBucket(w, r, bucket)
	case "ListObjectsV2":
		f.withBucket(w, r, bucket, func(b *s3Bucket) { f.listObjectsV2(w, r, bucket, b) })
	case "PutObject":
		f.putObject(w, r, bucket, key)
	case "GetObject", "HeadObject":
		f.getObject(w, r, bucket, key)
	case "DeleteObject":
		f.withBucket(w, r, bucket, func(b *s3Bucket) {
			delete(b.objects, key)
			w.WriteHeader(http.StatusNoContent)
		})
	default:
		s3WriteError(w, r, http.StatusNotImplemented, "NotImplemented", "The fake does not implement "+op)
	}
}

// withBucket runs fn with the bucket under the lock, or answers NoSuchBucket.
func (f *S3) withBucket(w http.ResponseWriter, r *http.Request, name string, fn func(*s3Bucket)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[name]
	if !ok {
		s3WriteError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	fn(b)
}

func (f *S3) listBuckets(w http.ResponseWriter, _ *http.Request) {
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	type result struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Buckets []bucket `xml:"Buckets>Bucket"`
	}
	f.mu.Lock()
	out := result{Xmlns: s3XMLNS}
	for name, b := range f.buckets {
		out.Buckets = append(out.Buckets, bucket{name, s3Time(b.created)})
	}
	f.mu.Unlock()
	sort.Slice(out.Buckets, func(i, j int) bool { return out.Buckets[i].Name < out.Buckets[j].Name })
	s3WriteXML(w, http.StatusOK, out)
}

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (f *S3) createBucket(w http.ResponseWriter, r *http.Request, name string) {
	if len(name) < 3 || len(name) > 63 || strings.ToLower(name) != name || strings.ContainsAny(name, "_ ") {
		s3WriteError(w, r, http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
		return
	}
	f.mu.Lock()
	_, exists := f.buckets[name]
	if !exists {
		f.buckets[name] = &s3Bucket{created: f.now(), objects: make(map[string]*S3Object)}
	}
	f.mu.Unlock()
	if exists {
		s3WriteError(w, r, http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
		return
	}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
}

func (f *S3) deleteBucket(w http.ResponseWriter, r *http.Request, name string) {
	f.withBucket(w, r, name, func(b *s3Bucket) {
		if len(b.objects) > 0 {
			s3WriteError(w, r, http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
			return
		}
		delete(f.buckets, name)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (f *S3) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		s3WriteError(w, r, http.StatusNotImplemented, "NotImplemented", "The fake does not implement CopyObject")
		return
	}
	body, err := s3ReadBody(r)
	if err != nil {
		s3WriteError(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	sum := md5.Sum(body)
	obj := &S3Object{
		Body:         body,
		ContentType:  r.Header.Get("Content-Type"),
		Metadata:     make(map[string]string),
		ETag:         `"` + hex.EncodeToString(sum[:]) + `"`,
		LastModified: f.now().Truncate(time.Second),
	}
	if obj.ContentType == "" {
		obj.ContentType = "binary/octet-stream"
	}
	for name, values := range r.Header {
		if rest, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(values) > 0 {
			obj.Metadata[rest] = values[0]
		}
	}
	if want := r.Header.Get("Content-Md5"); want != "" && want != base64.StdEncoding.EncodeToString(sum[:]) {
		s3WriteError(w, r, http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		return
	}
	f.withBucket(w, r, bucket, func(b *s3Bucket) {
		old, exists := b.objects[key]
		// Conditional writes, which let S3 serve as a lock or a state store.
		if r.Header.Get("If-None-Match") == "*" && exists ||
			r.Header.Get("If-Match") != "" && (!exists || r.Header.Get("If-Match") != old.ETag) {
			s3WriteError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
		b.objects[key] = obj
		w.Header().Set("ETag", obj.ETag)
		w.WriteHeader(http.StatusOK)
	})
}

// s3ReadBody reads a request body, undoing aws-chunked encoding, which the
// SDK uses for trailing checksums over TLS.
func s3ReadBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		return raw, nil
	}
	var out []byte
	for {
		line, rest, ok := strings.Cut(string(raw), "\r\n")
		if !ok {
			return nil, fmt.Errorf("malformed aws-chunked body")
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || int64(len(rest)) < size {
			return nil, fmt.Errorf("malformed aws-chunked body")
		}
		if size == 0 {
			return out, nil
		}
		out = append(out, rest[:size]...)
		raw = []byte(strings.TrimPrefix(rest[size:], "\r\n"))
	}
}

func (f *S3) getObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	f.withBucket(w, r, bucket, func(b *s3Bucket) {
		o, ok := b.objects[key]
		if !ok {
			s3WriteError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		if m := r.Header.Get("If-None-Match"); m != "" && m == o.ETag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && m != o.ETag {
			s3WriteError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
		h := w.Header()
		h.Set("Content-Type", o.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(o.Body)))
		h.Set("ETag", o.ETag)
		h.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
		for k, v := range o.Metadata {
			h.Set("X-Amz-Meta-"+k, v)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(o.Body)
		}
	})
}

type s3Contents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type s3ListV2Result struct {
	XMLName               xml.Name         `xml:"ListBucketResult"`
	Xmlns                 string           `xml:"xmlns,attr"`
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	KeyCount              int              `xml:"KeyCount"`
	IsTruncated           bool             `xml:"IsTruncated"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	Contents              []s3Contents     `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

// listObjectsV2 pages through keys in byte order. A continuation token holds
// where the last page stopped: after a key ("k") or after every key under a
// common prefix ("p").
func (f *S3) listObjectsV2(w http.ResponseWriter, r *http.Request, name string, b *s3Bucket) {
	q := r.URL.Query()
	res := s3ListV2Result{
		Xmlns:             s3XMLNS,
		Name:              name,
		Prefix:            q.Get("prefix"),
		Delimiter:         q.Get("delimiter"),
		StartAfter:        q.Get("start-after"),
		ContinuationToken: q.Get("continuation-token"),
		MaxKeys:           1000,
	}
	if mk := q.Get("max-keys"); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			s3WriteError(w, r, http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
			return
		}
		res.MaxKeys = min(n, 1000)
	}
	after, afterPrefix := res.StartAfter, ""
	if res.ContinuationToken != "" {
		tok, err := base64.RawURLEncoding.DecodeString(res.ContinuationToken)
		if err != nil || len(tok) < 1 {
			s3WriteError(w, r, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		switch tok[0] {
		case 'k':
			after = string(tok[1:])
		case 'p':
			afterPrefix = string(tok[1:])
			after = afterPrefix
		}
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	encode := func(s string) string { return s }
	if q.Get("encoding-type") == "url" {
		res.EncodingType = "url"
		encode = func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	}
	lastPrefix := ""
	var token string
	for _, k := range keys {
		if k <= after || afterPrefix != "" && strings.HasPrefix(k, afterPrefix) || !strings.HasPrefix(k, res.Prefix) {
			continue
		}
		var prefix string
		if res.Delimiter != "" {
			if i := strings.Index(k[len(res.Prefix):], res.Delimiter); i >= 0 {
				prefix = k[:len(res.Prefix)+i+len(res.Delimiter)]
			}
		}
		if prefix != "" && prefix == lastPrefix {
			continue
		}
		if res.KeyCount == res.MaxKeys {
			res.IsTruncated = true
			break
		}
		res.KeyCount++
		if prefix != "" {
			lastPrefix = prefix
			res.CommonPrefixes = append(res.CommonPrefixes, s3CommonPrefix{encode(prefix)})
			token = "p" + prefix
			continue
		}
		o := b.objects[k]
		res.Contents = append(res.Contents, s3Contents{
			Key: encode(k), LastModified: s3Time(o.LastModified), ETag: o.ETag, Size: len(o.Body), StorageClass: "STANDARD",
		})
		token = "k" + k
	}
	if res.IsTruncated && token != "" {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(token))
	}
	res.Prefix = encode(res.Prefix)
	s3WriteXML(w, http.StatusOK, res)
}
