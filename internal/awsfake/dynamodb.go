package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/nines-dev/nines/internal/clock"
)

// DynamoDBConfig configures the DynamoDB fake. Every field is optional.
type DynamoDBConfig struct {
	Region    string      // default us-east-1
	AccountID string      // default 123456789012
	Clock     clock.Clock // default the wall clock
}

// DynamoDB is a wire-level fake of Amazon DynamoDB: it speaks awsJson1_0
// (POST / with X-Amz-Target: DynamoDB_20120810.<Op>) and evaluates the
// condition expressions that a state store with optimistic locking relies on.
// Reads are always strongly consistent.
//
// It is as strict as the API reference where nines could come to rely on
// a kindness:
//   - CreateTable answers CREATING, and the table refuses reads and writes
//     with ResourceNotFoundException until it is ACTIVE. The first
//     DescribeTable after CreateTable still answers CREATING; the second
//     answers ACTIVE, and the table is ACTIVE from then on. A caller that
//     waits with dynamodb.NewTableExistsWaiter therefore polls twice.
//   - UpdateTimeToLive and DescribeTimeToLive keep a table's TTL setting.
//     Expired items are never deleted: DynamoDB deletes them only within
//     days, so nothing may rely on it.
//   - Query and Scan stop at 1 MB of items read, with LastEvaluatedKey.
//   - Items are sized as DynamoDB sizes them, and refused over 400 KB.
type DynamoDB struct {
	faultyServer

	mu     sync.Mutex
	tables map[string]*dynamodbTable
}

// dynamodbItem maps attribute names to their wire form, e.g. {"S":"x"}.
type dynamodbItem map[string]json.RawMessage

type dynamodbKeyAttr struct {
	name, typ string // typ is S, N or B
}

type dynamodbTable struct {
	name        string
	arn         string
	created     time.Time
	hash        dynamodbKeyAttr
	rng         *dynamodbKeyAttr
	definitions json.RawMessage
	keySchema   json.RawMessage
	items       map[string]dynamodbItem

	// describes counts DescribeTable calls while the table is CREATING.
	status    string // CREATING or ACTIVE
	describes int

	ttlAttribute string
	ttlEnabled   bool
	ttlUpdated   time.Time // when UpdateTimeToLive last succeeded
}

// NewDynamoDB starts a DynamoDB fake. Close it when done.
func NewDynamoDB(cfg DynamoDBConfig) *DynamoDB {
	f := &DynamoDB{tables: make(map[string]*dynamodbTable)}
	f.operation = dynamodbOperation
	f.writeError = dynamodbWriteError
	f.throttleStatus = http.StatusBadRequest
	f.throttleCode = "ThrottlingException"
	f.handle = f.serve
	f.start(cfg.Region, cfg.AccountID, cfg.Clock)
	return f
}

// NewDynamoDBT starts a DynamoDB fake that closes when t ends.
func NewDynamoDBT(t testing.TB, cfg DynamoDBConfig) *DynamoDB {
	t.Helper()
	f := NewDynamoDB(cfg)
	t.Cleanup(f.Close)
	return f
}

// Client returns a real SDK client pointed at the fake. Its retryer is the
// SDK's standard one without backoff delay or retry quota, so tests of
// retries never sleep; optFns adjust the client further.
func (f *DynamoDB) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(f.clientConfig(), append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.AccountIDEndpointMode = aws.AccountIDEndpointModeDisabled
	}}, optFns...)...)
}

// ShortTableWait makes a dynamodb.TableExistsWaiter poll every few
// milliseconds instead of every 20 seconds or more, for tests: the fake's
// table, like DynamoDB's, is CREATING at the first poll.
func ShortTableWait(o *dynamodb.TableExistsWaiterOptions) {
	o.MinDelay = time.Millisecond
	o.MaxDelay = 20 * time.Millisecond
}

// ItemCount reports how many items a table holds, or -1 when it does not exist.
func (f *DynamoDB) ItemCount(table string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tables[table]
	if !ok {
		return -1
	}
	return len(t.items)
}

const dynamodbTargetPrefix = "DynamoDB_20120810."

func dynamodbOperation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), dynamodbTargetPrefix)
}

func dynamodbWriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	dynamodbWriteJSON(w, status, map[string]any{
		"__type":  "com.amazonaws.dynamodb.v20120810#" + code,
		"message": message,
	})
}

func dynamodbWriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// dynamodbError is an error that the fake answers as the service would.
type dynamodbError struct {
	status  int
	code    string
	message string
	item    dynamodbItem // the current item, for ConditionalCheckFailedException
}

func (e *dynamodbError) Error() string { return e.code + ": " + e.message }

func dynamodbValidation(format string, args ...any) *dynamodbError {
	return &dynamodbError{status: http.StatusBadRequest, code: "ValidationException", message: fmt.Sprintf(format, args...)}
}

func dynamodbNoTable() *dynamodbError {
	return &dynamodbError{status: http.StatusBadRequest, code: "ResourceNotFoundException", message: "Requested resource not found"}
}

func (f *DynamoDB) serve(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		dynamodbWriteError(w, r, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	handlers := map[string]func([]byte) (any, error){
		"CreateTable":        f.createTable,
		"DescribeTable":      f.describeTable,
		"UpdateTimeToLive":   f.updateTimeToLive,
		"DescribeTimeToLive": f.describeTimeToLive,
		"GetItem":            f.getItem,
		"PutItem":            f.putItem,
		"DeleteItem":         f.deleteItem,
		"UpdateItem":         f.updateItem,
		"Query":              f.query,
		"Scan":               f.scan,
	}
	h, ok := handlers[op]
	if !ok {
		dynamodbWriteError(w, r, http.StatusBadRequest, "UnknownOperationException", "unsupported operation "+op)
		return
	}
	out, err := h(body)
	if err != nil {
		de, ok := err.(*dynamodbError)
		if !ok {
			de = &dynamodbError{status: http.StatusBadRequest, code: "SerializationException", message: err.Error()}
		}
		resp := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + de.code, "message": de.message}
		if de.item != nil {
			resp["Item"] = de.item
		}
		dynamodbWriteJSON(w, de.status, resp)
		return
	}
	dynamodbWriteJSON(w, http.StatusOK, out)
}

type dynamodbKeySchemaElement struct {
	AttributeName string
	KeyType       string
}

type dynamodbAttributeDefinition struct {
	AttributeName string
	AttributeType string
}

func (f *DynamoDB) createTable(body []byte) (any, error) {
	var in struct {
		TableName            string
		KeySchema            []dynamodbKeySchemaElement
		AttributeDefinitions []dynamodbAttributeDefinition
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	types := make(map[string]string)
	for _, d := range in.AttributeDefinitions {
		switch d.AttributeType {
		case "S", "N", "B":
		default:
			return nil, dynamodbValidation("1 validation error detected: Value '%s' at 'attributeDefinitions.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
		types[d.AttributeName] = d.AttributeType
	}
	t := &dynamodbTable{
		name:    in.TableName,
		arn:     fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", f.region, f.accountID, in.TableName),
		created: f.now(),
		items:   make(map[string]dynamodbItem),
		status:  "CREATING",
	}
	if in.TableName == "" {
		return nil, dynamodbValidation("TableName must be at least 3 characters long")
	}
	for _, k := range in.KeySchema {
		typ, ok := types[k.AttributeName]
		if !ok {
			return nil, dynamodbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s]", k.AttributeName)
		}
		switch k.KeyType {
		case "HASH":
			t.hash = dynamodbKeyAttr{k.AttributeName, typ}
		case "RANGE":
			t.rng = &dynamodbKeyAttr{k.AttributeName, typ}
		default:
			return nil, dynamodbValidation("invalid KeyType %q", k.KeyType)
		}
	}
	if t.hash.name == "" {
		return nil, dynamodbValidation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null")
	}
	t.definitions, _ = json.Marshal(in.AttributeDefinitions)
	t.keySchema, _ = json.Marshal(in.KeySchema)

	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tables[t.name]; ok {
		return nil, &dynamodbError{status: http.StatusBadRequest, code: "ResourceInUseException", message: "Table already exists: " + t.name}
	}
	f.tables[t.name] = t
	return map[string]any{"TableDescription": t.description()}, nil
}

func (t *dynamodbTable) description() map[string]any {
	return map[string]any{
		"TableName":            t.name,
		"TableArn":             t.arn,
		"TableStatus":          t.status,
		"CreationDateTime":     float64(t.created.UnixMilli()) / 1000,
		"KeySchema":            t.keySchema,
		"AttributeDefinitions": t.definitions,
		"ItemCount":            len(t.items),
		"BillingModeSummary":   map[string]any{"BillingMode": "PAY_PER_REQUEST"},
	}
}

func (f *DynamoDB) describeTable(body []byte) (any, error) {
	var in struct{ TableName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tables[in.TableName]
	if !ok {
		return nil, dynamodbNoTable()
	}
	if t.status == "CREATING" {
		t.describes++
		if t.describes > dynamodbCreatingDescribes {
			t.status = "ACTIVE"
		}
	}
	return map[string]any{"Table": t.description()}, nil
}

// dynamodbCreatingDescribes is how many DescribeTable calls still find a
// new table CREATING; the next one finds it ACTIVE.
const dynamodbCreatingDescribes = 1

// table returns a table that takes reads and writes. "You can perform read
// and write operations only on an ACTIVE table" (CreateTable, API
// reference); until then DynamoDB answers ResourceNotFoundException, whose
// reference says the table "might not be specified correctly, or its
// status might not be ACTIVE". It must be called with f.mu held.
func (f *DynamoDB) table(name string) (*dynamodbTable, error) {
	t, ok := f.tables[name]
	if !ok || t.status != "ACTIVE" {
		return nil, dynamodbNoTable()
	}
	return t, nil
}

// dynamodbTTLInterval is how soon after one UpdateTimeToLive a table takes
// another: "Any additional UpdateTimeToLive calls for the same table during
// this one hour duration result in a ValidationException" (API reference).
const dynamodbTTLInterval = time.Hour

func (f *DynamoDB) updateTimeToLive(body []byte) (any, error) {
	var in struct {
		TableName               string
		TimeToLiveSpecification *struct {
			AttributeName *string
			Enabled       *bool
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	spec := in.TimeToLiveSpecification
	if spec == nil || spec.AttributeName == nil || spec.Enabled == nil {
		return nil, dynamodbValidation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	if n := len(*spec.AttributeName); n < 1 || n > 255 {
		return nil, dynamodbValidation("1 validation error detected: Value '%s' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255", *spec.AttributeName)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tables[in.TableName]
	if !ok {
		return nil, dynamodbNoTable()
	}
	if t.status != "ACTIVE" {
		// The reference's ResourceInUseException: "The operation conflicts
		// with the resource's availability".
		return nil, &dynamodbError{status: http.StatusBadRequest, code: "ResourceInUseException", message: "Attempt to change a resource which is still in use: Table is being created: " + t.name}
	}
	switch {
	case *spec.Enabled && t.ttlEnabled:
		return nil, dynamodbValidation("TimeToLive is already enabled")
	case !*spec.Enabled && !t.ttlEnabled:
		return nil, dynamodbValidation("TimeToLive is already disabled")
	case !*spec.Enabled && *spec.AttributeName != t.ttlAttribute:
		return nil, dynamodbValidation("TimeToLive is active on a different AttributeName: current AttributeName is %s", t.ttlAttribute)
	case !t.ttlUpdated.IsZero() && f.now().Sub(t.ttlUpdated) < dynamodbTTLInterval:
		return nil, dynamodbValidation("Time to live has been modified multiple times within a fixed interval")
	}
	t.ttlAttribute, t.ttlEnabled, t.ttlUpdated = *spec.AttributeName, *spec.Enabled, f.now()
	return map[string]any{"TimeToLiveSpecification": map[string]any{"AttributeName": t.ttlAttribute, "Enabled": t.ttlEnabled}}, nil
}

func (f *DynamoDB) describeTimeToLive(body []byte) (any, error) {
	var in struct{ TableName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tables[in.TableName]
	if !ok {
		return nil, dynamodbNoTable()
	}
	desc := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if t.ttlEnabled {
		desc = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.ttlAttribute}
	}
	return map[string]any{"TimeToLiveDescription": desc}, nil
}

// TimeToLive reports the attribute a table expires items by, and whether
// TTL is enabled on it.
func (f *DynamoDB) TimeToLive(table string) (attribute string, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tables[table]; ok {
		return t.ttlAttribute, t.ttlEnabled
	}
	return "", false
}

// keyOf validates that item carries the table's key, with the declared
// types, and returns the key's canonical form. With exact, key must hold the
// key attributes and nothing else.
func (t *dynamodbTable) keyOf(item dynamodbItem, exact bool) (string, error) {
	attrs := []dynamodbKeyAttr{t.hash}
	if t.rng != nil {
		attrs = append(attrs, *t.rng)
	}
	if exact && len(item) != len(attrs) {
		return "", dynamodbValidation("The provided key element does not match the schema")
	}
	var parts []string
	for _, a := range attrs {
		raw, ok := item[a.name]
		if !ok {
			if exact {
				return "", dynamodbValidation("The provided key element does not match the schema")
			}
			return "", dynamodbValidation("One or more parameter values were invalid: Missing the key %s in the item", a.name)
		}
		v, err := dynamodbParse(raw)
		if err != nil {
			return "", err
		}
		if v.typ != a.typ {
			return "", dynamodbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", a.name, a.typ, v.typ)
		}
		if v.typ == "S" && v.s == "" || v.typ == "B" && len(v.b) == 0 {
			return "", dynamodbValidation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", a.name)
		}
		parts = append(parts, v.canonical())
	}
	return strings.Join(parts, "\x00"), nil
}

// keyAttrs returns just the key attributes of item.
func (t *dynamodbTable) keyAttrs(item dynamodbItem) dynamodbItem {
	key := dynamodbItem{t.hash.name: item[t.hash.name]}
	if t.rng != nil {
		key[t.rng.name] = item[t.rng.name]
	}
	return key
}

// dynamodbItemLimit is DynamoDB's item size limit: "The maximum item size
// in DynamoDB is 400 KB, which includes both attribute name binary length
// (UTF-8 length) and attribute value lengths" (Developer Guide, Constraints;
// 1 KB is 1024 bytes there).
const dynamodbItemLimit = 400 * 1024

func dynamodbValidateItem(item dynamodbItem) error {
	for _, raw := range item {
		if _, err := dynamodbParse(raw); err != nil {
			return err
		}
	}
	if dynamodbItemSize(item) > dynamodbItemLimit {
		return dynamodbValidation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

func (f *DynamoDB) getItem(body []byte) (any, error) {
	var in struct {
		TableName                string
		Key                      dynamodbItem
		ConsistentRead           bool
		ProjectionExpression     string
		ExpressionAttributeNames map[string]string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(in.TableName)
	if err != nil {
		return nil, err
	}
	key, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, err
	}
	item, ok := t.items[key]
	if !ok {
		return map[string]any{}, nil
	}
	item, err = dynamodbProject(item, in.ProjectionExpression, in.ExpressionAttributeNames)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Item": item}, nil
}

// dynamodbProject keeps the top-level attributes that a projection names.
func dynamodbProject(item dynamodbItem, projection string, names map[string]string) (dynamodbItem, error) {
	if projection == "" {
		return item, nil
	}
	out := dynamodbItem{}
	for _, p := range strings.Split(projection, ",") {
		p = strings.TrimSpace(p)
		top, _, _ := strings.Cut(p, ".")
		if strings.HasPrefix(top, "#") {
			n, ok := names[top]
			if !ok {
				return nil, dynamodbValidation("Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: %s", top)
			}
			top = n
		}
		if v, ok := item[top]; ok {
			out[top] = v
		}
	}
	return out, nil
}

type dynamodbWriteInput struct {
	TableName                           string
	Item                                dynamodbItem
	Key                                 dynamodbItem
	ConditionExpression                 string
	UpdateExpression                    string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           dynamodbItem
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
}

// check evaluates the write's condition against the current item.
func (in *dynamodbWriteInput) check(current dynamodbItem, cond *dynamodbCond) error {
	if cond == nil || cond.eval(current) {
		return nil
	}
	de := &dynamodbError{status: http.StatusBadRequest, code: "ConditionalCheckFailedException", message: "The conditional request failed"}
	if in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && current != nil {
		de.item = current
	}
	return de
}

// parseCondition parses ConditionExpression and UpdateExpression and checks
// that every placeholder is defined and used, as DynamoDB does.
func (in *dynamodbWriteInput) parse() (*dynamodbCond, *dynamodbUpdate, error) {
	env := newDynamodbEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var cond *dynamodbCond
	var upd *dynamodbUpdate
	var err error
	if in.ConditionExpression != "" {
		if cond, err = env.parseCondition(in.ConditionExpression); err != nil {
			return nil, nil, dynamodbValidation("Invalid ConditionExpression: %s", err)
		}
	}
	if in.UpdateExpression != "" {
		if upd, err = env.parseUpdate(in.UpdateExpression); err != nil {
			return nil, nil, dynamodbValidation("Invalid UpdateExpression: %s", err)
		}
	}
	if err := env.checkUnused(); err != nil {
		return nil, nil, err
	}
	return cond, upd, nil
}

// write is every conditional write: it decodes the request, checks the
// condition against the stored item under the lock, and stores what next
// makes of the old item (nil deletes it). keyFromItem is PutItem's case:
// the key comes from the item, which is validated first, as DynamoDB does,
// before any condition is checked.
func (f *DynamoDB) write(body []byte, keyFromItem bool,
	next func(in *dynamodbWriteInput, upd *dynamodbUpdate, old dynamodbItem, t *dynamodbTable) (dynamodbItem, error),
) (in dynamodbWriteInput, old, stored dynamodbItem, err error) {
	if err = json.Unmarshal(body, &in); err != nil {
		return in, nil, nil, err
	}
	cond, upd, err := in.parse()
	if err != nil {
		return in, nil, nil, err
	}
	if keyFromItem {
		if err = dynamodbValidateItem(in.Item); err != nil {
			return in, nil, nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(in.TableName)
	if err != nil {
		return in, nil, nil, err
	}
	var key string
	if keyFromItem {
		key, err = t.keyOf(in.Item, false)
	} else {
		key, err = t.keyOf(in.Key, true)
	}
	if err != nil {
		return in, nil, nil, err
	}
	old = t.items[key]
	if err := in.check(old, cond); err != nil {
		return in, old, nil, err
	}
	if stored, err = next(&in, upd, old, t); err != nil {
		return in, old, nil, err
	}
	if stored == nil {
		delete(t.items, key)
	} else {
		t.items[key] = stored
	}
	return in, old, stored, nil
}

func (f *DynamoDB) putItem(body []byte) (any, error) {
	in, old, stored, err := f.write(body, true, func(in *dynamodbWriteInput, _ *dynamodbUpdate, _ dynamodbItem, _ *dynamodbTable) (dynamodbItem, error) {
		return in.Item, nil
	})
	if err != nil {
		return nil, err
	}
	return dynamodbReturn(in.ReturnValues, old, stored), nil
}

func dynamodbReturn(mode string, old, updated dynamodbItem) map[string]any {
	switch {
	case mode == "ALL_OLD" && old != nil:
		return map[string]any{"Attributes": old}
	case mode == "ALL_NEW" && updated != nil:
		return map[string]any{"Attributes": updated}
	}
	return map[string]any{}
}

func (f *DynamoDB) deleteItem(body []byte) (any, error) {
	in, old, _, err := f.write(body, false, func(*dynamodbWriteInput, *dynamodbUpdate, dynamodbItem, *dynamodbTable) (dynamodbItem, error) {
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return dynamodbReturn(in.ReturnValues, old, nil), nil
}

func (f *DynamoDB) updateItem(body []byte) (any, error) {
	in, old, updated, err := f.write(body, false, func(in *dynamodbWriteInput, upd *dynamodbUpdate, old dynamodbItem, t *dynamodbTable) (dynamodbItem, error) {
		updated := dynamodbItem{}
		for k, v := range old {
			updated[k] = v
		}
		for k, v := range in.Key {
			updated[k] = v
		}
		if upd != nil {
			if err := upd.apply(updated, t); err != nil {
				return nil, err
			}
		}
		return updated, dynamodbValidateItem(updated)
	})
	if err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "ALL_OLD", "ALL_NEW":
		return dynamodbReturn(in.ReturnValues, old, updated), nil
	}
	return map[string]any{}, nil
}

type dynamodbReadInput struct {
	TableName                 string
	KeyConditionExpression    string
	FilterExpression          string
	ProjectionExpression      string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues dynamodbItem
	ExclusiveStartKey         dynamodbItem
	Limit                     int
	ScanIndexForward          *bool
	ConsistentRead            bool
	Select                    string
}

func (f *DynamoDB) query(body []byte) (any, error) { return f.read(body, true) }

func (f *DynamoDB) scan(body []byte) (any, error) { return f.read(body, false) }

// read serves Query and Scan: both walk items in key order, stop after
// Limit items are examined, and filter what they examined.
func (f *DynamoDB) read(body []byte, isQuery bool) (any, error) {
	var in dynamodbReadInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	env := newDynamodbEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var keyCond, filter *dynamodbCond
	var err error
	if isQuery {
		if in.KeyConditionExpression == "" {
			return nil, dynamodbValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		}
		if keyCond, err = env.parseCondition(in.KeyConditionExpression); err != nil {
			return nil, dynamodbValidation("Invalid KeyConditionExpression: %s", err)
		}
	}
	if in.FilterExpression != "" {
		if filter, err = env.parseCondition(in.FilterExpression); err != nil {
			return nil, dynamodbValidation("Invalid FilterExpression: %s", err)
		}
	}
	// A projection's placeholders count as used.
	for name := range in.ExpressionAttributeNames {
		if strings.Contains(in.ProjectionExpression, name) {
			env.usedNames[name] = true
		}
	}
	if err := env.checkUnused(); err != nil {
		return nil, err
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.table(in.TableName)
	if err != nil {
		return nil, err
	}
	items := t.sorted()
	if isQuery && in.ScanIndexForward != nil && !*in.ScanIndexForward {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	start := 0
	if in.ExclusiveStartKey != nil {
		startKey, err := t.keyOf(in.ExclusiveStartKey, true)
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			if k, _ := t.keyOf(it, false); k == startKey {
				start = i + 1
				break
			}
		}
	}
	out := []dynamodbItem{}
	scanned, read := 0, 0
	full := false
	var last dynamodbItem
	for i := start; i < len(items); i++ {
		it := items[i]
		if keyCond != nil && !keyCond.eval(it) {
			continue
		}
		if in.Limit > 0 && scanned == in.Limit || read >= dynamodbPageLimit {
			full = true
			break
		}
		scanned++
		read += dynamodbItemSize(it)
		last = it
		if filter != nil && !filter.eval(it) {
			continue
		}
		projected, err := dynamodbProject(it, in.ProjectionExpression, in.ExpressionAttributeNames)
		if err != nil {
			return nil, err
		}
		out = append(out, projected)
	}
	resp := map[string]any{"Count": len(out), "ScannedCount": scanned}
	if in.Select != "COUNT" {
		resp["Items"] = out
	}
	if (full || in.Limit > 0 && scanned == in.Limit || read >= dynamodbPageLimit) && last != nil && t.hasMoreAfter(items, last, keyCond) {
		resp["LastEvaluatedKey"] = t.keyAttrs(last)
	}
	return resp, nil
}

// dynamodbPageLimit is how much a Query or Scan reads before it stops:
// "A single Scan request can retrieve a maximum of 1 MB of data", counted
// before any filter, and the result then carries LastEvaluatedKey
// (Developer Guide, Scan and Query; API reference, Scan). The item that
// reaches the limit is the page's last.
const dynamodbPageLimit = 1024 * 1024

// hasMoreAfter reports whether any item after last would still be examined.
func (t *dynamodbTable) hasMoreAfter(items []dynamodbItem, last dynamodbItem, keyCond *dynamodbCond) bool {
	lastKey, _ := t.keyOf(last, false)
	seen := false
	for _, it := range items {
		if seen && (keyCond == nil || keyCond.eval(it)) {
			return true
		}
		if k, _ := t.keyOf(it, false); k == lastKey {
			seen = true
		}
	}
	return false
}

// sorted returns the table's items by partition key, then sort key.
func (t *dynamodbTable) sorted() []dynamodbItem {
	items := make([]dynamodbItem, 0, len(t.items))
	for _, it := range t.items {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		c := dynamodbCompareRaw(items[i][t.hash.name], items[j][t.hash.name])
		if c == 0 && t.rng != nil {
			c = dynamodbCompareRaw(items[i][t.rng.name], items[j][t.rng.name])
		}
		return c < 0
	})
	return items
}

func dynamodbCompareRaw(a, b json.RawMessage) int {
	va, errA := dynamodbParse(a)
	vb, errB := dynamodbParse(b)
	if errA != nil || errB != nil {
		return 0
	}
	c, _ := va.compare(vb)
	return c
}
