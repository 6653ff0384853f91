package awsfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func s3TestCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestS3PutGetHeadDelete(t *testing.T) {
	ctx := context.Background()
	fake := NewS3T(t, S3Config{})
	client := fake.Client()

	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("nines-reports")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	body := []byte(`{"week":"2025-W47","availability":0.9991}`)
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String("nines-reports"),
		Key:         aws.String("reviews/2025/W47.json"),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
		Metadata:    map[string]string{"Generator": "nines review"},
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nines-reports"), Key: aws.String("reviews/2025/W47.json")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	read, _ := io.ReadAll(got.Body)
	_ = got.Body.Close()
	if !bytes.Equal(read, body) {
		t.Errorf("body = %q, want %q", read, body)
	}
	if aws.ToString(got.ContentType) != "application/json" {
		t.Errorf("ContentType = %q", aws.ToString(got.ContentType))
	}
	if got.Metadata["generator"] != "nines review" {
		t.Errorf("Metadata = %v", got.Metadata)
	}

	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("nines-reports"), Key: aws.String("reviews/2025/W47.json")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) == "" {
		t.Errorf("HeadObject = length %d, etag %q", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}
	if obj, ok := fake.Object("nines-reports", "reviews/2025/W47.json"); !ok || obj.ContentType != "application/json" {
		t.Errorf("Object = %+v, %v", obj, ok)
	}

	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("nines-reports"), Key: aws.String("reviews/2025/W47.json")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nines-reports"), Key: aws.String("reviews/2025/W47.json")})
	var noKey *types.NoSuchKey
	if !errors.As(err, &noKey) {
		t.Fatalf("GetObject after delete: %v, want NoSuchKey", err)
	}
	_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("nines-reports"), Key: aws.String("reviews/2025/W47.json")})
	var notFound *types.NotFound
	if !errors.As(err, &notFound) {
		t.Fatalf("HeadObject after delete: %v, want NotFound", err)
	}
}

func TestS3Errors(t *testing.T) {
	ctx := context.Background()
	fake := NewS3T(t, S3Config{Buckets: []string{"nines-state"}})
	client := fake.Client()
	tests := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{
			name: "Reading from a missing bucket is NoSuchBucket",
			call: func() error {
				_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nowhere"), Key: aws.String("k")})
				return err
			},
			wantCode: "NoSuchBucket",
		},
		{
			name: "Writing to a missing bucket is NoSuchBucket",
			call: func() error {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nowhere"), Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))})
				return err
			},
			wantCode: "NoSuchBucket",
		},
		{
			name: "Reading a missing key is NoSuchKey",
			call: func() error {
				_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nines-state"), Key: aws.String("absent")})
				return err
			},
			wantCode: "NoSuchKey",
		},
		{
			name: "Creating a bucket twice is BucketAlreadyOwnedByYou",
			call: func() error {
				_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("nines-state")})
				return err
			},
			wantCode: "BucketAlreadyOwnedByYou",
		},
		{
			name: "A create-only write over an existing key fails its precondition",
			call: func() error {
				put := &s3.PutObjectInput{Bucket: aws.String("nines-state"), Key: aws.String("lock"), IfNoneMatch: aws.String("*")}
				put.Body = bytes.NewReader([]byte("a"))
				if _, err := client.PutObject(ctx, put); err != nil {
					return fmt.Errorf("first write: %w", err)
				}
				put.Body = bytes.NewReader([]byte("b"))
				_, err := client.PutObject(ctx, put)
				return err
			},
			wantCode: "PreconditionFailed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s3TestCode(tt.call()); got != tt.wantCode {
				t.Errorf("error code = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestS3ListObjectsV2(t *testing.T) {
	ctx := context.Background()
	fake := NewS3T(t, S3Config{Buckets: []string{"nines-spool"}})
	client := fake.Client()
	keys := []string{"spool/eu-west-1/0001", "spool/eu-west-1/0002", "spool/us-east-1/0001", "spool/us-east-1/0002", "spool/us-east-1/0003", "other/x"}
	for _, k := range keys {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nines-spool"), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	tests := []struct {
		name         string
		input        s3.ListObjectsV2Input
		wantKeys     []string
		wantPrefixes []string
		wantPages    int
	}{
		{
			name:      "A prefix lists its keys in order across pages",
			input:     s3.ListObjectsV2Input{Prefix: aws.String("spool/"), MaxKeys: aws.Int32(2)},
			wantKeys:  keys[:5],
			wantPages: 3,
		},
		{
			name:         "A delimiter rolls keys up into common prefixes",
			input:        s3.ListObjectsV2Input{Prefix: aws.String("spool/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)},
			wantPrefixes: []string{"spool/eu-west-1/", "spool/us-east-1/"},
			wantPages:    2,
		},
		{
			name:      "Start-after skips the keys before it",
			input:     s3.ListObjectsV2Input{StartAfter: aws.String("spool/us-east-1/0001")},
			wantKeys:  keys[3:5],
			wantPages: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input
			in.Bucket = aws.String("nines-spool")
			var gotKeys, gotPrefixes []string
			pages := 0
			pager := s3.NewListObjectsV2Paginator(client, &in)
			for pager.HasMorePages() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListObjectsV2: %v", err)
				}
				pages++
				for _, o := range page.Contents {
					gotKeys = append(gotKeys, aws.ToString(o.Key))
				}
				for _, p := range page.CommonPrefixes {
					gotPrefixes = append(gotPrefixes, aws.ToString(p.Prefix))
				}
			}
			if fmt.Sprint(gotKeys) != fmt.Sprint(tt.wantKeys) || fmt.Sprint(gotPrefixes) != fmt.Sprint(tt.wantPrefixes) {
				t.Errorf("listed keys %v prefixes %v, want %v %v", gotKeys, gotPrefixes, tt.wantKeys, tt.wantPrefixes)
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}
}

func TestS3SlowDownThenSuccess(t *testing.T) {
	fake := NewS3T(t, S3Config{Buckets: []string{"nines-state"}})
	fake.Throttle("PutObject", 2)
	_, err := fake.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("nines-state"), Key: aws.String("k"), Body: bytes.NewReader([]byte("v")),
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got := fake.Calls("PutObject"); got != 3 {
		t.Errorf("Calls(PutObject) = %d, want 3", got)
	}
	fake.FailStatus("GetObject", 5, http.StatusInternalServerError)
	_, err = fake.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("nines-state"), Key: aws.String("k")})
	if s3TestCode(err) != "InternalFailure" {
		t.Errorf("GetObject error = %v, want InternalFailure after retries", err)
	}
}
