package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/internal/clock"
)

// SNS's own limits, which the fake enforces so that a notifier that breaks
// them fails in tests rather than in a page that never arrives.
const (
	// SNSMaxMessageBytes bounds the message body plus its attributes.
	SNSMaxMessageBytes = 256 * 1024
	// SNSMaxSubjectChars is the first subject length SNS rejects.
	SNSMaxSubjectChars = 100
)

// SNSConfig configures the SNS fake. Every field is optional.
type SNSConfig struct {
	Region    string      // default us-east-1
	AccountID string      // default 123456789012
	Clock     clock.Clock // default the wall clock
	// Topics are created up front, by name.
	Topics []string
}

// SNS is a wire-level fake of Amazon SNS: it speaks the query protocol that
// the SDK sends (a form POST answered with XML) and keeps what it is sent.
type SNS struct {
	faultyServer

	mu       sync.Mutex
	topics   map[string]bool // by ARN
	messages []SNSMessage
}

// SNSMessage is one message the fake accepted.
type SNSMessage struct {
	ID               string
	TopicARN         string
	Subject          string
	Body             string
	MessageStructure string
	GroupID          string
	DeduplicationID  string
	Attributes       map[string]SNSAttribute
}

// SNSAttribute is one message attribute as it was sent.
type SNSAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// NewSNS starts an SNS fake. Close it when done.
func NewSNS(cfg SNSConfig) *SNS {
	f := &SNS{topics: make(map[string]bool)}
	f.operation = snsOperation
	f.writeError = snsWriteError
	f.throttleStatus = http.StatusBadRequest
	f.throttleCode = "Throttling"
	f.handle = f.serve
	f.start(cfg.Region, cfg.AccountID, cfg.Clock)
	for _, name := range cfg.Topics {
		f.CreateTopic(name)
	}
	return f
}

// NewSNST starts an SNS fake that closes when t ends.
func NewSNST(t testing.TB, cfg SNSConfig) *SNS {
	t.Helper()
	f := NewSNS(cfg)
	t.Cleanup(f.Close)
	return f
}

// Client returns a real SDK client pointed at the fake. Its retryer is the
// SDK's standard one without backoff delay or retry quota, so tests of
// retries never sleep; optFns adjust the client further.
func (f *SNS) Client(optFns ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(f.clientConfig(), optFns...)
}

// CreateTopic creates a topic, as the CreateTopic call would, and returns its ARN.
func (f *SNS) CreateTopic(name string) string {
	arn := f.TopicARN(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topics[arn] = true
	return arn
}

// TopicARN is the ARN a topic of that name has in this fake.
func (f *SNS) TopicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", f.region, f.accountID, name)
}

// Messages returns copies of every message accepted so far, oldest first.
func (f *SNS) Messages() []SNSMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]SNSMessage, len(f.messages))
	for i, m := range f.messages {
		out[i] = m.clone()
	}
	return out
}

func (m SNSMessage) clone() SNSMessage {
	if m.Attributes == nil {
		return m
	}
	attrs := make(map[string]SNSAttribute, len(m.Attributes))
	for k, a := range m.Attributes {
		if a.BinaryValue != nil {
			a.BinaryValue = append([]byte(nil), a.BinaryValue...)
		}
		attrs[k] = a
	}
	m.Attributes = attrs
	return m
}

func snsOperation(r *http.Request) string {
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get("Action")
}

type snsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

func snsWriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	snsWriteXML(w, status, snsErrorResponse{Xmlns: snsXMLNS, Type: kind, Code: code, Message: message, RequestID: "nines-fake-error"})
}

func snsWriteXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

type snsResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func (f *SNS) serve(w http.ResponseWriter, r *http.Request, op string) {
	if r.Method != http.MethodPost {
		snsWriteError(w, r, http.StatusBadRequest, "InvalidAction", "SNS takes form POSTs")
		return
	}
	switch op {
	case "Publish":
		f.publish(w, r)
	case "CreateTopic":
		f.createTopic(w, r)
	default:
		snsWriteError(w, r, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("The action %s is not valid for this endpoint.", op))
	}
}

func (f *SNS) createTopic(w http.ResponseWriter, r *http.Request) {
	name := r.PostForm.Get("Name")
	if name == "" || len(name) > 256 || strings.IndexFunc(name, snsInvalidTopicRune) >= 0 {
		snsWriteError(w, r, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Topic Name")
		return
	}
	arn := f.CreateTopic(name)
	type result struct {
		XMLName  xml.Name            `xml:"CreateTopicResponse"`
		Xmlns    string              `xml:"xmlns,attr"`
		TopicArn string              `xml:"CreateTopicResult>TopicArn"`
		Meta     snsResponseMetadata `xml:"ResponseMetadata"`
	}
	snsWriteXML(w, http.StatusOK, result{Xmlns: snsXMLNS, TopicArn: arn, Meta: snsResponseMetadata{f.requestID()}})
}

func snsInvalidTopicRune(c rune) bool {
	return !(c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' || c == '.'))
}

func (f *SNS) publish(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	msg := SNSMessage{
		TopicARN:         form.Get("TopicArn"),
		Subject:          form.Get("Subject"),
		Body:             form.Get("Message"),
		MessageStructure: form.Get("MessageStructure"),
		GroupID:          form.Get("MessageGroupId"),
		DeduplicationID:  form.Get("MessageDeduplicationId"),
	}
	if msg.TopicARN == "" {
		msg.TopicARN = form.Get("TargetArn")
	}
	attrs, err := snsParseAttributes(form)
	if err != nil {
		snsWriteError(w, r, http.StatusBadRequest, "ParameterValueInvalid", err.Error())
		return
	}
	msg.Attributes = attrs

	if code, message := snsValidate(msg); code != "" {
		snsWriteError(w, r, http.StatusBadRequest, code, message)
		return
	}

	f.mu.Lock()
	known := f.topics[msg.TopicARN]
	if known {
		msg.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(f.messages)+1)
		f.messages = append(f.messages, msg)
	}
	f.mu.Unlock()
	if !known {
		snsWriteError(w, r, http.StatusNotFound, "NotFound", "Topic does not exist")
		return
	}

	type result struct {
		XMLName   xml.Name            `xml:"PublishResponse"`
		Xmlns     string              `xml:"xmlns,attr"`
		MessageID string              `xml:"PublishResult>MessageId"`
		Meta      snsResponseMetadata `xml:"ResponseMetadata"`
	}
	snsWriteXML(w, http.StatusOK, result{Xmlns: snsXMLNS, MessageID: msg.ID, Meta: snsResponseMetadata{f.requestID()}})
}

// snsParseAttributes reads MessageAttributes.entry.N.{Name,Value.*}, the
// query protocol's encoding of a map.
func snsParseAttributes(form map[string][]string) (map[string]SNSAttribute, error) {
	get := func(key string) (string, bool) {
		v, ok := form[key]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	var attrs map[string]SNSAttribute
	for i := 1; ; i++ {
		prefix := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name, ok := get(prefix + "Name")
		if !ok {
			break
		}
		if attrs == nil {
			attrs = make(map[string]SNSAttribute)
		}
		a := SNSAttribute{}
		a.DataType, _ = get(prefix + "Value.DataType")
		a.StringValue, _ = get(prefix + "Value.StringValue")
		if b, ok := get(prefix + "Value.BinaryValue"); ok {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, fmt.Errorf("The message attribute '%s' has an invalid binary value.", name)
			}
			a.BinaryValue = raw
		}
		if err := snsValidateAttribute(name, a); err != nil {
			return nil, err
		}
		attrs[name] = a
	}
	return attrs, nil
}

func snsValidateAttribute(name string, a SNSAttribute) error {
	base, _, _ := strings.Cut(a.DataType, ".")
	switch base {
	case "String", "Number":
		if a.StringValue == "" {
			return fmt.Errorf("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
		}
		if base == "Number" {
			if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
				return fmt.Errorf("The message attribute '%s' has an invalid message attribute value.", name)
			}
		}
	case "Binary":
		if len(a.BinaryValue) == 0 {
			return fmt.Errorf("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", name)
		}
	case "":
		return fmt.Errorf("The message attribute '%s' must contain non-empty message attribute type.", name)
	default:
		return fmt.Errorf("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
	}
	return nil
}

// snsValidate applies Publish's limits and returns SNS's error code and
// message for the first one broken.
func snsValidate(msg SNSMessage) (code, message string) {
	if msg.TopicARN == "" {
		return "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
	}
	if msg.Body == "" {
		return "InvalidParameter", "Invalid parameter: Empty message"
	}
	if msg.Subject != "" {
		if utf8.RuneCountInString(msg.Subject) >= SNSMaxSubjectChars || strings.ContainsFunc(msg.Subject, unicode.IsControl) {
			return "InvalidParameter", "Invalid parameter: Subject"
		}
	}
	if snsSize(msg) > SNSMaxMessageBytes {
		return "InvalidParameter", "Invalid parameter: Message too long"
	}
	if msg.MessageStructure != "" {
		if msg.MessageStructure != "json" {
			return "InvalidParameter", "Invalid parameter: MessageStructure"
		}
		var bodies map[string]any
		if err := json.Unmarshal([]byte(msg.Body), &bodies); err != nil {
			return "InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse"
		}
		if _, ok := bodies["default"].(string); !ok {
			return "InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body"
		}
	}
	return "", ""
}

// snsSize counts the bytes SNS charges against the message limit: the body
// and every attribute's name, type and value.
func snsSize(msg SNSMessage) int {
	n := len(msg.Body)
	for name, a := range msg.Attributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}
