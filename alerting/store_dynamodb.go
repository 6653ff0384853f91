package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// DynamoDBStore keeps alerts in a DynamoDB table, one item per alert
// (partition key "pk", the alert's dedupe key), for the Lambda evaluator,
// where nothing survives between invocations. Every write is conditional
// on the version attribute it read, so two invocations that overlap never
// both page.
//
// The same table keeps the incident history the weekly review reads: one
// item per incident (pk "incident#KEY#FIRED_MS", kind "incident"), which
// expires, by the table's TTL on expires_at, IncidentRetention after it
// fired; and each canary's last failure (pk "failure#CANARY", kind
// "failure"), which the agents write and the evaluator's alerts show.
type DynamoDBStore struct {
	api   DynamoDBAPI
	table string
}

// NewDynamoDBStore returns a store over the table; both are required.
func NewDynamoDBStore(api DynamoDBAPI, table string) (*DynamoDBStore, error) {
	if api == nil || table == "" {
		return nil, errors.New("alerting: the DynamoDB store needs a client and a table name")
	}
	return &DynamoDBStore{api: api, table: table}, nil
}

// CreateTable creates the table on demand billing, waits until it is
// ACTIVE (DynamoDB refuses reads and writes before that), and expires
// items by expires_at, as the deploy templates do. A table that exists
// already is not an error, and its TTL is enabled if it is not yet. waitFns
// adjust the waiter; tests shorten its delays.
func (s *DynamoDBStore) CreateTable(ctx context.Context, waitFns ...func(*dynamodb.TableExistsWaiterOptions)) error {
	_, err := s.api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(s.table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("alerting: creating table %s: %w", s.table, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(s.api, waitFns...)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("alerting: waiting for table %s to be ACTIVE: %w", s.table, err)
	}
	return s.enableTTL(ctx)
}

// tableActiveTimeout bounds the wait for a new table; DynamoDB creates an
// on-demand table with one key in seconds.
const tableActiveTimeout = 5 * time.Minute

// ttlAttribute is the attribute incidents and failures expire by.
const ttlAttribute = "expires_at"

// enableTTL turns on expiry by ttlAttribute unless it is on already:
// DynamoDB refuses to enable TTL twice, and takes one change an hour.
func (s *DynamoDBStore) enableTTL(ctx context.Context) error {
	out, err := s.api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.table)})
	if err != nil {
		return fmt.Errorf("alerting: reading the TTL of table %s: %w", s.table, err)
	}
	if d := out.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(d.AttributeName) == ttlAttribute {
				return nil
			}
			return fmt.Errorf("alerting: table %s expires items by %s, not %s", s.table, aws.ToString(d.AttributeName), ttlAttribute)
		}
	}
	_, err = s.api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(s.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("alerting: enabling TTL on table %s: %w", s.table, err)
	}
	return nil
}

// Load implements Store.
func (s *DynamoDBStore) Load(ctx context.Context) ([]Alert, error) {
	var out []Alert
	in := &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("alerting: loading alerts from %s: %w", s.table, err)
		}
		for _, item := range page.Items {
			if _, ok := item["kind"]; ok {
				continue // an incident or a failure, not an alert
			}
			body, ok := item["body"].(*types.AttributeValueMemberS)
			ver, ok2 := item["version"].(*types.AttributeValueMemberN)
			if !ok || !ok2 {
				return nil, fmt.Errorf("alerting: an item in %s has no body or version", s.table)
			}
			a, err := decodeAlert([]byte(body.Value))
			if err != nil {
				return nil, fmt.Errorf("alerting: a stored alert does not decode: %w", err)
			}
			if a.Version, err = strconv.ParseInt(ver.Value, 10, 64); err != nil {
				return nil, fmt.Errorf("alerting: alert %s has version %q: %w", a.Key, ver.Value, err)
			}
			out = append(out, a)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sortAlerts(out)
	return out, nil
}

// Save implements Store.
func (s *DynamoDBStore) Save(ctx context.Context, a *Alert) error {
	body, err := encodeAlert(a)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: a.Key.String()},
			"version": &types.AttributeValueMemberN{Value: strconv.FormatInt(a.Version+1, 10)},
			"status":  &types.AttributeValueMemberS{Value: string(a.Status)},
			"body":    &types.AttributeValueMemberS{Value: string(body)},
		},
	}
	if a.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(a.Version, 10)},
		}
	}
	if _, err := s.api.PutItem(ctx, in); err != nil {
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return ErrConflict
		}
		return fmt.Errorf("alerting: saving alert %s: %w", a.Key, err)
	}
	a.Version++
	// As in the SQLite store, the incident is a record, not state: a
	// failure here is reported but the save above stands.
	if !a.FiredAt.IsZero() {
		if err := s.recordIncident(ctx, a); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrIncidentNotRecorded, a.Key, err)
		}
	}
	return nil
}

// FailureRetention is how long the table keeps a canary's last failure
// after it happened, by the table's TTL.
const FailureRetention = 7 * 24 * time.Hour

const failureKind = "failure"

// RecordFailure keeps f as its canary's last failure, unless the table
// already holds a later one: Lambda agents in every region write here, so
// that the evaluator's alerts can say what broke. f is bounded as alerts
// bound it, and holds nothing secret (the runner redacted its error).
func (s *DynamoDBStore) RecordFailure(ctx context.Context, f Failure) error {
	f = f.bounded()
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: failureKind + "#" + f.Canary},
		},
		UpdateExpression:         aws.String("SET #k = :k, #a = :a, #b = :b, #e = :e"),
		ConditionExpression:      aws.String("attribute_not_exists(#a) OR #a < :a"),
		ExpressionAttributeNames: map[string]string{"#k": "kind", "#a": "at", "#b": "body", "#e": ttlAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: failureKind},
			":a": &types.AttributeValueMemberN{Value: strconv.FormatInt(f.At.UnixMilli(), 10)},
			":b": &types.AttributeValueMemberS{Value: string(body)},
			":e": &types.AttributeValueMemberN{Value: strconv.FormatInt(f.At.Add(FailureRetention).Unix(), 10)},
		},
	})
	var older *types.ConditionalCheckFailedException
	if errors.As(err, &older) {
		return nil // a later failure is already there
	}
	if err != nil {
		return fmt.Errorf("alerting: recording the last failure of %s: %w", f.Canary, err)
	}
	return nil
}

// RecentFailures returns each canary's last recorded failure.
func (s *DynamoDBStore) RecentFailures(ctx context.Context) (map[string]Failure, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		FilterExpression:          aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: failureKind}},
	}
	out := map[string]Failure{}
	for {
		page, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("alerting: reading failures from %s: %w", s.table, err)
		}
		for _, item := range page.Items {
			body, ok := item["body"].(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("alerting: a failure in %s has no body", s.table)
			}
			var f Failure
			if err := json.Unmarshal([]byte(body.Value), &f); err != nil {
				return nil, fmt.Errorf("alerting: a failure in %s does not decode: %w", s.table, err)
			}
			out[f.Canary] = f
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// IncidentRetention is how long the DynamoDB store keeps an incident: the
// local store's default retention.
const IncidentRetention = 400 * 24 * time.Hour

const incidentKind = "incident"

// recordIncident writes or updates the incident's item. The tier it fired
// with, and the silence that held it, are kept when a later save (the
// resolve) carries none.
func (s *DynamoDBStore) recordIncident(ctx context.Context, a *Alert) error {
	fired := a.FiredAt.UnixMilli()
	names := map[string]string{"#k": "kind", "#s": "subject", "#v": "severity", "#f": "fired_at", "#e": ttlAttribute}
	values := map[string]types.AttributeValue{
		":k": &types.AttributeValueMemberS{Value: incidentKind},
		":s": &types.AttributeValueMemberS{Value: a.Key.Subject},
		":v": &types.AttributeValueMemberS{Value: string(a.Key.Severity)},
		":f": &types.AttributeValueMemberN{Value: strconv.FormatInt(fired, 10)},
		":e": &types.AttributeValueMemberN{Value: strconv.FormatInt(a.FiredAt.Add(IncidentRetention).Unix(), 10)},
	}
	set := "SET #k = :k, #s = :s, #v = :v, #f = :f, #e = :e"
	if a.Last.Tier != "" {
		names["#t"], values[":t"] = "tier", &types.AttributeValueMemberS{Value: a.Last.Tier}
		set += ", #t = :t"
	}
	if a.SilencedBy != "" {
		names["#q"], values[":q"] = "silence", &types.AttributeValueMemberS{Value: a.SilencedBy}
		set += ", #q = :q"
	}
	if !a.ResolvedAt.IsZero() {
		names["#r"], values[":r"] = "resolved_at", &types.AttributeValueMemberN{Value: strconv.FormatInt(a.ResolvedAt.UnixMilli(), 10)}
		set += ", #r = :r"
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: incidentKind + "#" + a.Key.String() + "#" + strconv.FormatInt(fired, 10)},
		},
		UpdateExpression: aws.String(set), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	return err
}

// Incidents returns the incidents that were firing at some time in
// [from, to), oldest first, as SQLiteStore.Incidents does.
func (s *DynamoDBStore) Incidents(ctx context.Context, from, to time.Time) ([]Incident, error) {
	in := &dynamodb.ScanInput{
		TableName:                aws.String(s.table),
		FilterExpression:         aws.String("#k = :k AND #f < :to AND (attribute_not_exists(#r) OR #r >= :from)"),
		ExpressionAttributeNames: map[string]string{"#k": "kind", "#f": "fired_at", "#r": "resolved_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k":    &types.AttributeValueMemberS{Value: incidentKind},
			":to":   &types.AttributeValueMemberN{Value: strconv.FormatInt(to.UnixMilli(), 10)},
			":from": &types.AttributeValueMemberN{Value: strconv.FormatInt(from.UnixMilli(), 10)},
		},
	}
	var out []Incident
	for {
		page, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("alerting: reading incidents from %s: %w", s.table, err)
		}
		for _, item := range page.Items {
			inc, err := incidentOf(item)
			if err != nil {
				return nil, fmt.Errorf("alerting: an incident in %s: %w", s.table, err)
			}
			out = append(out, inc)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FiredAt.Equal(out[j].FiredAt) {
			return out[i].FiredAt.Before(out[j].FiredAt)
		}
		if out[i].Key.Subject != out[j].Key.Subject {
			return out[i].Key.Subject < out[j].Key.Subject
		}
		return out[i].Key.Severity < out[j].Key.Severity
	})
	return out, nil
}

func incidentOf(item map[string]types.AttributeValue) (Incident, error) {
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	millis := func(name string) (time.Time, bool, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return time.Time{}, false, nil
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s is %q: %w", name, v.Value, err)
		}
		return time.UnixMilli(n).UTC(), true, nil
	}
	inc := Incident{Key: Key{Subject: str("subject"), Severity: Severity(str("severity"))}, Tier: str("tier"), Silence: str("silence")}
	fired, ok, err := millis("fired_at")
	if err != nil {
		return inc, err
	}
	if !ok || inc.Key.Subject == "" {
		return inc, errors.New("an item of kind incident has no subject or fired_at")
	}
	inc.FiredAt = fired
	if inc.ResolvedAt, _, err = millis("resolved_at"); err != nil {
		return inc, err
	}
	return inc, nil
}

const silenceKind = "silence"

// AddSilence implements SilenceStore: an item "silence#ID" of kind
// silence, which the table's TTL removes SilenceRetention after it ends.
func (s *DynamoDBStore) AddSilence(ctx context.Context, sl Silence) error {
	if err := sl.Validate(); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                silenceItem(sl),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return fmt.Errorf("alerting: silence %s exists already", sl.ID)
	}
	if err != nil {
		return fmt.Errorf("alerting: saving silence %s: %w", sl.ID, err)
	}
	return nil
}

func silenceItem(sl Silence) map[string]types.AttributeValue {
	body, _ := json.Marshal(sl) // a Silence always marshals
	return map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: silenceKind + "#" + sl.ID},
		"kind":       &types.AttributeValueMemberS{Value: silenceKind},
		"body":       &types.AttributeValueMemberS{Value: string(body)},
		ttlAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(sl.End.Add(SilenceRetention).Unix(), 10)},
	}
}

// Silences implements SilenceStore. The read is consistent, so a silence
// added just before an evaluation holds in it.
func (s *DynamoDBStore) Silences(ctx context.Context) ([]Silence, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: silenceKind}},
	}
	var out []Silence
	for {
		page, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("alerting: reading silences from %s: %w", s.table, err)
		}
		for _, item := range page.Items {
			body, ok := item["body"].(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("alerting: a silence in %s has no body", s.table)
			}
			var sl Silence
			if err := json.Unmarshal([]byte(body.Value), &sl); err != nil {
				return nil, fmt.Errorf("alerting: a silence in %s does not decode: %w", s.table, err)
			}
			out = append(out, sl)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sortSilences(out)
	return out, nil
}

// ExpireSilence implements SilenceStore.
func (s *DynamoDBStore) ExpireSilence(ctx context.Context, id string, at time.Time) error {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: silenceKind + "#" + id}},
	})
	if err != nil {
		return fmt.Errorf("alerting: reading silence %s: %w", id, err)
	}
	body, ok := out.Item["body"].(*types.AttributeValueMemberS)
	if !ok {
		return ErrNoSilence
	}
	var sl Silence
	if err := json.Unmarshal([]byte(body.Value), &sl); err != nil {
		return fmt.Errorf("alerting: silence %s does not decode: %w", id, err)
	}
	if !at.Before(sl.End) {
		return nil
	}
	sl.End = at
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: silenceItem(sl)}); err != nil {
		return fmt.Errorf("alerting: expiring silence %s: %w", id, err)
	}
	return nil
}
