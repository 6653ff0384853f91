package awsfake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/nines-dev/nines/internal/clock"
)

// The tests here hold the fake to what the DynamoDB API reference and
// Developer Guide say, each where nines could otherwise lean on a fake that
// is kinder than the service.

func dynamodbCreate(t *testing.T, client *dynamodb.Client, table string) *types.TableDescription {
	t.Helper()
	out, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return out.TableDescription
}

func dynamodbWait(t *testing.T, client *dynamodb.Client, table string) {
	t.Helper()
	waiter := dynamodb.NewTableExistsWaiter(client, ShortTableWait)
	if err := waiter.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 5*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", table, err)
	}
}

// CreateTable API reference: "CreateTable is an asynchronous operation.
// Upon receiving a CreateTable request, DynamoDB immediately returns a
// response with a TableStatus of CREATING. After the table is created,
// DynamoDB sets the TableStatus to ACTIVE. You can perform read and write
// operations only on an ACTIVE table." Until then reads and writes answer
// ResourceNotFoundException ("its status might not be ACTIVE").
func TestDynamoDBNewTableRefusesReadsAndWritesUntilActive(t *testing.T) {
	ctx := context.Background()
	fake := NewDynamoDBT(t, DynamoDBConfig{})
	client := fake.Client()
	if desc := dynamodbCreate(t, client, "state"); desc.TableStatus != types.TableStatusCreating {
		t.Fatalf("CreateTable answered %s, want CREATING", desc.TableStatus)
	}
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}
	calls := []struct {
		name string
		call func() error
	}{
		{"PutItem", func() error {
			_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("state"), Item: item})
			return err
		}},
		{"GetItem", func() error {
			_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("state"), Key: item})
			return err
		}},
		{"UpdateItem", func() error {
			_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("state"), Key: item})
			return err
		}},
		{"Scan", func() error {
			_, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("state")})
			return err
		}},
	}
	for _, c := range calls {
		var notFound *types.ResourceNotFoundException
		if err := c.call(); !errors.As(err, &notFound) {
			t.Errorf("%s on a CREATING table returned %v, want ResourceNotFoundException", c.name, err)
		}
	}
	// The first DescribeTable still finds it CREATING, the second ACTIVE:
	// a waiter has to poll more than once.
	for i, want := range []types.TableStatus{types.TableStatusCreating, types.TableStatusActive} {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("state")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Table.TableStatus != want {
			t.Errorf("DescribeTable %d answered %s, want %s", i+1, out.Table.TableStatus, want)
		}
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Errorf("%s on an ACTIVE table: %v", c.name, err)
		}
	}

	// The SDK's waiter, with short delays, sees a new table through.
	dynamodbCreate(t, client, "other")
	before := fake.Calls("DescribeTable")
	dynamodbWait(t, client, "other")
	if n := fake.Calls("DescribeTable") - before; n != 2 {
		t.Errorf("the waiter called DescribeTable %d times, want 2", n)
	}
}

// UpdateTimeToLive API reference: "A successful UpdateTimeToLive call
// returns the current TimeToLiveSpecification. It can take up to one hour
// for the change to fully process. Any additional UpdateTimeToLive calls
// for the same table during this one hour duration result in a
// ValidationException." Enabling TTL that is already enabled is a
// ValidationException too.
func TestDynamoDBTimeToLive(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	fake := NewDynamoDBT(t, DynamoDBConfig{Clock: clk})
	client := fake.Client()
	dynamodbCreate(t, client, "state")

	update := func(enabled bool) error {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String("state"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires_at"), Enabled: aws.Bool(enabled)},
		})
		return err
	}
	describe := func() types.TimeToLiveStatus {
		out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("state")})
		if err != nil {
			t.Fatal(err)
		}
		return out.TimeToLiveDescription.TimeToLiveStatus
	}
	steps := []struct {
		name     string
		advance  time.Duration
		call     func() error
		wantCode string
		want     types.TimeToLiveStatus
	}{
		{name: "a table still CREATING takes no TTL", call: func() error { return update(true) }, wantCode: "ResourceInUseException", want: types.TimeToLiveStatusDisabled},
		{name: "an ACTIVE table starts without TTL", call: func() error { dynamodbWait(t, client, "state"); return nil }, want: types.TimeToLiveStatusDisabled},
		{name: "enabling TTL enables it", call: func() error { return update(true) }, want: types.TimeToLiveStatusEnabled},
		{name: "enabling it again is a ValidationException", call: func() error { return update(true) }, wantCode: "ValidationException", want: types.TimeToLiveStatusEnabled},
		{name: "a change within the hour of the last one is a ValidationException", advance: 30 * time.Minute, call: func() error { return update(false) }, wantCode: "ValidationException", want: types.TimeToLiveStatusEnabled},
		{name: "a change an hour after the last one is taken", advance: 30 * time.Minute, call: func() error { return update(false) }, want: types.TimeToLiveStatusDisabled},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		err := s.call()
		if got := dynamodbTestCode(err); got != s.wantCode {
			t.Errorf("%s: error %v, want code %q", s.name, err, s.wantCode)
		}
		if got := describe(); got != s.want {
			t.Errorf("%s: TTL is %s, want %s", s.name, got, s.want)
		}
	}
	var notFound *types.ResourceNotFoundException
	if _, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Errorf("DescribeTimeToLive of an unknown table returned %v, want ResourceNotFoundException", err)
	}
}

// Scan API reference: "If the total size of scanned items exceeds the
// maximum dataset size limit of 1 MB, the scan completes and results are
// returned to the user. The LastEvaluatedKey value is also returned and
// the requestor can use the LastEvaluatedKey to continue the scan in a
// subsequent operation." The limit counts items read, before the filter.
func TestDynamoDBScanPagesAtOneMegabyte(t *testing.T) {
	ctx := context.Background()
	fake := NewDynamoDBT(t, DynamoDBConfig{})
	client := fake.Client()
	dynamodbCreate(t, client, "state")
	dynamodbWait(t, client, "state")
	const items, pad = 30, 100 * 1024 // 3 MB in all
	for i := range items {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("state"), Item: map[string]types.AttributeValue{
			"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("item#%02d", i)},
			"kind": &types.AttributeValueMemberS{Value: "wanted"},
			"pad":  &types.AttributeValueMemberS{Value: strings.Repeat("x", pad)},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	in := &dynamodb.ScanInput{
		TableName:                 aws.String("state"),
		FilterExpression:          aws.String("kind = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: "wanted"}},
	}
	seen := map[string]bool{}
	pages := 0
	for {
		page, err := client.Scan(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		// A page reads up to 1 MB; the item that reaches it is the last.
		if max := 1024*1024/pad + 1; int(page.ScannedCount) > max {
			t.Errorf("page %d read %d items of 100 KB, want at most %d", pages, page.ScannedCount, max)
		}
		for _, it := range page.Items {
			seen[it["pk"].(*types.AttributeValueMemberS).Value] = true
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if len(seen) != items {
		t.Errorf("the pages held %d items, want %d", len(seen), items)
	}
	if pages < 3 {
		t.Errorf("3 MB came in %d pages, want at least 3", pages)
	}
}

// Developer Guide, "DynamoDB item sizes and formats": an item's size is
// the sum of its attribute names' and values' lengths, strings in UTF-8
// bytes, binaries in raw bytes (not base64), numbers 1 byte per two
// significant digits plus 1, lists and maps 3 bytes plus 1 per element.
// Constraints: "The maximum item size in DynamoDB is 400 KB".
func TestDynamoDBItemSizeIsDynamoDBs(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	const limit = 400 * 1024
	key := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "a"}, // 2 + 1
			"sk": &types.AttributeValueMemberS{Value: "b"}, // 2 + 1
		}
	}
	// with is the key plus one attribute "v" (1 byte of name).
	with := func(v types.AttributeValue) map[string]types.AttributeValue {
		item := key()
		item["v"] = v
		return item
	}
	const fixed = 6 + 1 // the key, and the name "v"
	tests := []struct {
		name string
		item map[string]types.AttributeValue
		ok   bool
	}{
		{"a string of exactly 400 KB in all is taken, however long its JSON escaping",
			with(&types.AttributeValueMemberS{Value: strings.Repeat("\x01", limit-fixed)}), true},
		{"one byte more is refused", with(&types.AttributeValueMemberS{Value: strings.Repeat("x", limit-fixed+1)}), false},
		{"a string counts UTF-8 bytes, not characters",
			with(&types.AttributeValueMemberS{Value: strings.Repeat("é", (limit-fixed)/2+1)}), false},
		{"a binary counts raw bytes, not base64", with(&types.AttributeValueMemberB{Value: make([]byte, limit-fixed)}), true},
		{"a list counts 3 bytes and 1 per element",
			with(&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: strings.Repeat("x", limit-fixed-4)}}}), true},
		{"and one byte more of it is refused",
			with(&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: strings.Repeat("x", limit-fixed-3)}}}), false},
		{"a map counts its element names as well",
			with(&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"ab": &types.AttributeValueMemberS{Value: strings.Repeat("x", limit-fixed-6)}}}), true},
		{"a number counts its significant digits: 12 is 2 bytes",
			func() map[string]types.AttributeValue {
				item := with(&types.AttributeValueMemberN{Value: "1200"})
				item["w"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", limit-fixed-2-1)}
				return item
			}(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("alerts"), Item: tt.item})
			if tt.ok && err != nil {
				t.Errorf("PutItem: %v, want it taken", err)
			}
			if !tt.ok && dynamodbTestCode(err) != "ValidationException" {
				t.Errorf("PutItem: %v, want ValidationException", err)
			}
		})
	}
	// UpdateItem is held to the same limit on the item it would leave.
	_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String("alerts"), Key: key(),
		UpdateExpression:          aws.String("SET v = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: strings.Repeat("x", limit)}},
	})
	if dynamodbTestCode(err) != "ValidationException" {
		t.Errorf("UpdateItem over 400 KB: %v, want ValidationException", err)
	}
}
