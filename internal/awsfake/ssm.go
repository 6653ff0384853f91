package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/nines-dev/nines/internal/clock"
)

// SSMConfig configures the SSM fake. Every field is optional.
type SSMConfig struct {
	Region    string      // default us-east-1
	AccountID string      // default 123456789012
	Clock     clock.Clock // default the wall clock
}

// SSM is a wire-level fake of the SSM Parameter Store calls that Lambda
// config loading makes, over awsJson1_1 (X-Amz-Target: AmazonSSM.<Op>).
type SSM struct {
	faultyServer

	mu     sync.Mutex
	params map[string]*ssmParameter
}

type ssmParameter struct {
	typ      string // String, StringList or SecureString
	value    string
	version  int64
	modified time.Time
}

// NewSSM starts an SSM fake. Close it when done.
func NewSSM(cfg SSMConfig) *SSM {
	f := &SSM{params: make(map[string]*ssmParameter)}
	f.operation = ssmOperation
	f.writeError = ssmWriteError
	f.throttleStatus = http.StatusBadRequest
	f.throttleCode = "ThrottlingException"
	f.handle = f.serve
	f.start(cfg.Region, cfg.AccountID, cfg.Clock)
	return f
}

// NewSSMT starts an SSM fake that closes when t ends.
func NewSSMT(t testing.TB, cfg SSMConfig) *SSM {
	t.Helper()
	f := NewSSM(cfg)
	t.Cleanup(f.Close)
	return f
}

// Client returns a real SDK client pointed at the fake. Its retryer is the
// SDK's standard one without backoff delay or retry quota, so tests of
// retries never sleep; optFns adjust the client further.
func (f *SSM) Client(optFns ...func(*ssm.Options)) *ssm.Client {
	return ssm.NewFromConfig(f.clientConfig(), optFns...)
}

// SetParameter stores a parameter as PutParameter with Overwrite would;
// typ is String, StringList or SecureString.
func (f *SSM) SetParameter(name, typ, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(name, typ, value)
}

func (f *SSM) putLocked(name, typ, value string) int64 {
	p, ok := f.params[name]
	if !ok {
		p = &ssmParameter{}
		f.params[name] = p
	}
	p.typ, p.value = typ, value
	p.version++
	p.modified = f.now()
	return p.version
}

func ssmOperation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
}

func ssmWriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	ssmWriteJSON(w, status, map[string]string{"__type": code, "message": message})
}

func ssmWriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *SSM) serve(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		ssmWriteError(w, r, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	switch op {
	case "GetParameter":
		f.getParameter(w, r, body)
	case "PutParameter":
		f.putParameter(w, r, body)
	default:
		ssmWriteError(w, r, http.StatusBadRequest, "UnknownOperationException", "unsupported operation "+op)
	}
}

func (f *SSM) getParameter(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		ssmWriteError(w, r, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	// A name may carry a version selector, name:3.
	name, selector, _ := strings.Cut(strings.TrimPrefix(in.Name, "arn:aws:ssm:"+f.region+":"+f.accountID+":parameter"), ":")
	f.mu.Lock()
	p, ok := f.params[name]
	var out map[string]any
	if ok && (selector == "" || selector == fmt.Sprint(p.version)) {
		value := p.value
		if p.typ == "SecureString" && !in.WithDecryption {
			// Without decryption SSM returns ciphertext; the fake returns a
			// stand-in that is plainly not the secret.
			value = "nines-fake-ciphertext:" + base64.StdEncoding.EncodeToString([]byte(name))
		}
		out = map[string]any{"Parameter": map[string]any{
			"Name":             name,
			"Type":             p.typ,
			"Value":            value,
			"Version":          p.version,
			"LastModifiedDate": float64(p.modified.UnixMilli()) / 1000,
			"ARN":              f.parameterARN(name),
			"DataType":         "text",
		}}
	}
	f.mu.Unlock()
	if out == nil {
		ssmWriteError(w, r, http.StatusBadRequest, "ParameterNotFound", "Parameter "+in.Name+" not found.")
		return
	}
	ssmWriteJSON(w, http.StatusOK, out)
}

func (f *SSM) parameterARN(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", f.region, f.accountID, name)
}

// ssmMaxValue is the Standard tier's value limit.
const ssmMaxValue = 4096

func (f *SSM) putParameter(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Name      string
		Value     string
		Type      string
		Overwrite bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		ssmWriteError(w, r, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	switch {
	case in.Name == "" || len(in.Name) > 2048:
		ssmWriteError(w, r, http.StatusBadRequest, "ValidationException", "Parameter name must be between 1 and 2048 characters")
		return
	case len(in.Value) > ssmMaxValue:
		ssmWriteError(w, r, http.StatusBadRequest, "ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters.")
		return
	}
	f.mu.Lock()
	old, exists := f.params[in.Name]
	if exists && !in.Overwrite {
		f.mu.Unlock()
		ssmWriteError(w, r, http.StatusBadRequest, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		return
	}
	typ := in.Type
	if typ == "" && exists {
		typ = old.typ
	}
	if typ != "String" && typ != "StringList" && typ != "SecureString" {
		f.mu.Unlock()
		ssmWriteError(w, r, http.StatusBadRequest, "ValidationException", "A parameter type is required when you create a parameter.")
		return
	}
	version := f.putLocked(in.Name, typ, in.Value)
	f.mu.Unlock()
	ssmWriteJSON(w, http.StatusOK, map[string]any{"Version": version, "Tier": "Standard"})
}
