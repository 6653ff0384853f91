package awsfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
)

func snsTestPublish(topic string) *sns.PublishInput {
	return &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String("ALARM: checkout-availability burning 14.4x"),
		Message:  aws.String(`{"AlarmName":"checkout-availability"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"severity":   {DataType: aws.String("String"), StringValue: aws.String("page")},
			"burn_rate":  {DataType: aws.String("Number"), StringValue: aws.String("14.4")},
			"dedupe_key": {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
		},
	}
}

func TestSNSPublishRoundTrip(t *testing.T) {
	ctx := context.Background()
	fake := NewSNST(t, SNSConfig{Region: "eu-west-1"})
	client := fake.Client()

	created, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("nines-pages")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	wantARN := "arn:aws:sns:eu-west-1:123456789012:nines-pages"
	if got := aws.ToString(created.TopicArn); got != wantARN {
		t.Fatalf("TopicArn = %q, want %q", got, wantARN)
	}

	out, err := client.Publish(ctx, snsTestPublish(wantARN))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != aws.ToString(out.MessageId) || m.ID == "" {
		t.Errorf("message ID %q, Publish returned %q", m.ID, aws.ToString(out.MessageId))
	}
	if m.TopicARN != wantARN || m.Subject != "ALARM: checkout-availability burning 14.4x" || m.Body != `{"AlarmName":"checkout-availability"}` {
		t.Errorf("message = %+v", m)
	}
	want := map[string]SNSAttribute{
		"severity":   {DataType: "String", StringValue: "page"},
		"burn_rate":  {DataType: "Number", StringValue: "14.4"},
		"dedupe_key": {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
	}
	if len(m.Attributes) != len(want) {
		t.Fatalf("attributes = %+v, want %+v", m.Attributes, want)
	}
	for name, w := range want {
		got := m.Attributes[name]
		if got.DataType != w.DataType || got.StringValue != w.StringValue || string(got.BinaryValue) != string(w.BinaryValue) {
			t.Errorf("attribute %s = %+v, want %+v", name, got, w)
		}
	}

	// Messages hands out copies.
	msgs[0].Attributes["severity"] = SNSAttribute{DataType: "String", StringValue: "changed"}
	if fake.Messages()[0].Attributes["severity"].StringValue != "page" {
		t.Error("changing a returned message changed the fake's record")
	}
	if got := fake.Calls("Publish"); got != 1 {
		t.Errorf("Calls(Publish) = %d, want 1", got)
	}
	if got := fake.Calls(""); got != 2 {
		t.Errorf("Calls() = %d, want 2", got)
	}
}

func TestSNSPublishLimits(t *testing.T) {
	fake := NewSNST(t, SNSConfig{Topics: []string{"pages"}})
	client := fake.Client()
	topic := fake.TopicARN("pages")

	tests := []struct {
		name     string
		edit     func(in *sns.PublishInput)
		wantCode string
		wantType any
	}{
		{
			name: "A message of exactly 256 KiB with its attributes is accepted",
			edit: func(in *sns.PublishInput) {
				in.MessageAttributes = map[string]types.MessageAttributeValue{
					"k": {DataType: aws.String("String"), StringValue: aws.String("v")},
				}
				in.Message = aws.String(strings.Repeat("x", SNSMaxMessageBytes-len("k")-len("String")-len("v")))
			},
		},
		{
			name: "A message one byte over 256 KiB counting attributes is rejected",
			edit: func(in *sns.PublishInput) {
				in.MessageAttributes = map[string]types.MessageAttributeValue{
					"k": {DataType: aws.String("String"), StringValue: aws.String("v")},
				}
				in.Message = aws.String(strings.Repeat("x", SNSMaxMessageBytes-len("k")-len("String")-len("v")+1))
			},
			wantCode: "InvalidParameter",
			wantType: &types.InvalidParameterException{},
		},
		{
			name:     "A subject of 100 characters is rejected",
			edit:     func(in *sns.PublishInput) { in.Subject = aws.String(strings.Repeat("s", 100)) },
			wantCode: "InvalidParameter",
			wantType: &types.InvalidParameterException{},
		},
		{
			name: "A subject of 99 characters is accepted",
			edit: func(in *sns.PublishInput) { in.Subject = aws.String(strings.Repeat("s", 99)) },
		},
		{
			name:     "A subject with a newline is rejected",
			edit:     func(in *sns.PublishInput) { in.Subject = aws.String("ALARM: x\nsecond line") },
			wantCode: "InvalidParameter",
			wantType: &types.InvalidParameterException{},
		},
		{
			name:     "An unknown topic is not found",
			edit:     func(in *sns.PublishInput) { in.TopicArn = aws.String(fake.TopicARN("nobody")) },
			wantCode: "NotFound",
			wantType: &types.NotFoundException{},
		},
		{
			name:     "An empty message is rejected",
			edit:     func(in *sns.PublishInput) { in.Message = aws.String("") },
			wantCode: "InvalidParameter",
			wantType: &types.InvalidParameterException{},
		},
		{
			name: "An attribute without a value is rejected",
			edit: func(in *sns.PublishInput) {
				in.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String")}}
			},
			wantCode: "ParameterValueInvalid",
			wantType: &types.InvalidParameterValueException{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := snsTestPublish(topic)
			tt.edit(in)
			before := len(fake.Messages())
			_, err := client.Publish(context.Background(), in)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				if len(fake.Messages()) != before+1 {
					t.Error("accepted message was not kept")
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("Publish error = %v, want code %s", err, tt.wantCode)
			}
			if !errors.As(err, &tt.wantType) {
				t.Errorf("Publish error is %T, want %T", apiErr, tt.wantType)
			}
			if len(fake.Messages()) != before {
				t.Error("rejected message was kept")
			}
		})
	}
}

func TestSNSFaults(t *testing.T) {
	tests := []struct {
		name      string
		inject    func(f *SNS)
		wantErr   string // API error code; empty means the call succeeds
		wantCalls int
	}{
		{
			name:      "Throttling twice is retried to success",
			inject:    func(f *SNS) { f.Throttle("Publish", 2) },
			wantCalls: 3,
		},
		{
			name:      "Throttling beyond the retry budget reaches the caller",
			inject:    func(f *SNS) { f.Throttle("", 5) },
			wantErr:   "Throttling",
			wantCalls: 3,
		},
		{
			name:      "A 503 once is retried to success",
			inject:    func(f *SNS) { f.FailStatus("Publish", 1, http.StatusServiceUnavailable) },
			wantCalls: 2,
		},
		{
			name:      "A fault on another operation leaves Publish alone",
			inject:    func(f *SNS) { f.Throttle("CreateTopic", 3) },
			wantCalls: 1,
		},
		{
			name:      "An outage fails every attempt with 503",
			inject:    func(f *SNS) { f.SetDown(true) },
			wantErr:   "ServiceUnavailable",
			wantCalls: 3,
		},
		{
			name:      "A dropped connection is retried to success",
			inject:    func(f *SNS) { f.Drop("Publish", 1) },
			wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := NewSNST(t, SNSConfig{Topics: []string{"pages"}})
			tt.inject(fake)
			_, err := fake.Client().Publish(context.Background(), snsTestPublish(fake.TopicARN("pages")))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if tt.wantErr != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantErr {
					t.Fatalf("Publish error = %v, want code %s", err, tt.wantErr)
				}
			}
			if got := fake.Calls("Publish"); got != tt.wantCalls {
				t.Errorf("Calls(Publish) = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestSNSHangHonoursClientTimeout(t *testing.T) {
	fake := NewSNST(t, SNSConfig{Topics: []string{"pages"}})
	fake.Hang("Publish", 1)
	client := fake.Client(func(o *sns.Options) { o.Retryer = aws.NopRetryer{} })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := client.Publish(ctx, snsTestPublish(fake.TopicARN("pages")))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish error = %v, want the context deadline", err)
	}
	if len(fake.Messages()) != 0 {
		t.Error("a hung call kept a message")
	}

	// The hang was for one call only.
	if _, err := client.Publish(context.Background(), snsTestPublish(fake.TopicARN("pages"))); err != nil {
		t.Fatalf("Publish after the hang: %v", err)
	}
}

func TestSNSCloseReleasesHungCalls(t *testing.T) {
	fake := NewSNS(SNSConfig{Topics: []string{"pages"}})
	hanging := make(chan struct{})
	fake.hangHook = func() { close(hanging) }
	fake.Hang("", 1)
	client := fake.Client(func(o *sns.Options) { o.Retryer = aws.NopRetryer{} })
	done := make(chan error, 1)
	go func() {
		_, err := client.Publish(context.Background(), snsTestPublish(fake.TopicARN("pages")))
		done <- err
	}()
	<-hanging
	fake.Close()
	if err := <-done; err == nil {
		t.Error("a call released by Close succeeded")
	}
}
