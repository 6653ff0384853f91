// Package goawstest serves goaws, an independent implementation of SNS and
// SQS, on loopback inside the test process, so that the ALARM phase's tests
// can check what a subscriber of the alert topic receives rather than what
// nines meant to send. Tests read the topic's queues back with the SDK's
// own SQS client.
//
// goaws keeps its topics and queues in package globals, so a test binary
// holds one server for its whole life; Acquire hands it to one test at a
// time and empties its queues first. goaws checks neither SNS's 100-character
// subject nor its 256 KiB message limit: nines keeps its own checks.
package goawstest

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/Admiral-Piett/goaws/app/conf"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// What the server holds: one topic with two SQS subscriptions, one with
// raw message delivery and one without (the JSON envelope SNS wraps a
// message in, which Lambda and HTTPS subscribers also get).
const (
	Region        = "us-east-1"
	Account       = "100010001000"
	Topic         = "nines-alerts"
	RawQueue      = "nines-alerts-raw"
	EnvelopeQueue = "nines-alerts-envelope"
)

// TopicARN is the topic's ARN.
const TopicARN = "arn:aws:sns:" + Region + ":" + Account + ":" + Topic

// Server is goaws, held by one test.
type Server struct {
	// URL is the endpoint of both SNS and SQS.
	URL string
	sqs *sqs.Client
}

var (
	once     sync.Once
	shared   *Server
	startErr error
	// held is locked while a test holds the server.
	held sync.Mutex
)

// Acquire starts goaws on first use and holds it for t, with empty queues.
func Acquire(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		t.Fatalf("goaws: %v", startErr)
	}
	held.Lock()
	t.Cleanup(held.Unlock)
	for _, q := range []string{RawQueue, EnvelopeQueue} {
		if _, err := shared.sqs.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(shared.QueueURL(q))}); err != nil {
			t.Fatalf("goaws: emptying %s: %v", q, err)
		}
	}
	return shared
}

// start writes the config goaws reads, with the address it is served at,
// and serves its router on a loopback port for the rest of the process.
func start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dir, err := os.MkdirTemp("", "goaws")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "goaws.yaml")
	yaml := fmt.Sprintf(`Local:
  Host: 127.0.0.1
  Port: "%s"
  Region: %s
  AccountId: "%s"
  LogToFile: false
  Topics:
    - Name: %s
      Subscriptions:
        - QueueName: %s
          Raw: true
        - QueueName: %s
          Raw: false
`, port, Region, Account, Topic, RawQueue, EnvelopeQueue)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	conf.LoadYamlConfig(file, "Local")
	srv := httptest.NewUnstartedServer(router.New())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	s := &Server{URL: srv.URL}
	s.sqs = s.SQSClient()
	return s, nil
}

// SNSClient is an SNS client for the server, with static credentials.
func (s *Server) SNSClient(optFns ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(s.config(), append([]func(*sns.Options){func(o *sns.Options) { o.BaseEndpoint = aws.String(s.URL) }}, optFns...)...)
}

// SQSClient is an SQS client for the server. goaws speaks SQS's query
// protocol only, which SQS itself still accepts; the SDK speaks JSON unless
// told otherwise.
func (s *Server) SQSClient() *sqs.Client {
	return sqs.NewFromConfig(s.config(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.Protocol = awsquery.New(schemas.AmazonSQS)
	})
}

func (s *Server) config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDGOAWS", "goaws-secret", ""),
	}
}

// QueueURL is the URL of one of the topic's queues.
func (s *Server) QueueURL(queue string) string {
	return s.URL + "/" + Account + "/" + queue
}

// Received takes every message a queue holds, oldest first, and deletes
// them.
func (s *Server) Received(t testing.TB, queue string) []Message {
	t.Helper()
	ctx := context.Background()
	var out []Message
	for {
		resp, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.QueueURL(queue)), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("goaws: receiving from %s: %v", queue, err)
		}
		if len(resp.Messages) == 0 {
			return out
		}
		for _, m := range resp.Messages {
			msg := Message{Body: aws.ToString(m.Body), Attributes: map[string]string{}}
			for k, v := range m.MessageAttributes {
				msg.Attributes[k] = aws.ToString(v.StringValue)
			}
			out = append(out, msg)
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL(queue)), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("goaws: deleting from %s: %v", queue, err)
			}
		}
	}
}

// Message is one message as an SQS subscriber receives it.
type Message struct {
	Body string
	// Attributes are the message attributes' string values, which SNS
	// passes on with raw delivery only.
	Attributes map[string]string
}

// Envelope is the JSON SNS wraps a message in for a subscriber without raw
// delivery.
type Envelope struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         string
	SignatureVersion  string
	Signature         string
	SigningCertURL    string
	UnsubscribeURL    string
	MessageAttributes map[string]struct {
		Type  string
		Value string
	}
}
