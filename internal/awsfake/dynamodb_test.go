package awsfake

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// dynamodbTestTable creates the table an alert state store would use: a
// string partition key "pk" and a string sort key "sk".
func dynamodbTestTable(t *testing.T) (*DynamoDB, *dynamodb.Client) {
	t.Helper()
	fake := NewDynamoDBT(t, DynamoDBConfig{})
	client := fake.Client()
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String("alerts"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, ShortTableWait)
	if err := waiter.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("alerts")}, 5*time.Second); err != nil {
		t.Fatalf("waiting for the table: %v", err)
	}
	return fake, client
}

func dynamodbTestCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestDynamoDBConditionalPutSucceedsOnce(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	put := &dynamodb.PutItemInput{
		TableName: aws.String("alerts"),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: "slo#checkout"},
			"sk":      &types.AttributeValueMemberS{Value: "page"},
			"state":   &types.AttributeValueMemberS{Value: "firing"},
			"version": &types.AttributeValueMemberN{Value: "1"},
		},
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if _, err := client.PutItem(ctx, put); err != nil {
		t.Fatalf("first PutItem: %v", err)
	}
	_, err := client.PutItem(ctx, put)
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second PutItem error = %v, want ConditionalCheckFailedException", err)
	}
	if got := dynamodbTestCode(err); got != "ConditionalCheckFailedException" {
		t.Errorf("ErrorCode = %q", got)
	}
	if v, ok := ccf.Item["state"].(*types.AttributeValueMemberS); !ok || v.Value != "firing" {
		t.Errorf("failure carries item %v, want the stored one", ccf.Item)
	}
}

func TestDynamoDBVersionCheckedUpdate(t *testing.T) {
	ctx := context.Background()
	fake, client := dynamodbTestTable(t)

	// save writes state at version next, provided the stored version is
	// next-1 (or, for version 1, that nothing is stored).
	save := func(state string, next int) error {
		in := &dynamodb.PutItemInput{
			TableName: aws.String("alerts"),
			Item: map[string]types.AttributeValue{
				"pk":      &types.AttributeValueMemberS{Value: "slo#checkout"},
				"sk":      &types.AttributeValueMemberS{Value: "page"},
				"state":   &types.AttributeValueMemberS{Value: state},
				"version": &types.AttributeValueMemberN{Value: strconv.Itoa(next)},
				"labels": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"team":  &types.AttributeValueMemberS{Value: "payments"},
					"muted": &types.AttributeValueMemberBOOL{Value: false},
				}},
				"history": &types.AttributeValueMemberL{Value: []types.AttributeValue{
					&types.AttributeValueMemberS{Value: state},
					&types.AttributeValueMemberNULL{Value: true},
				}},
				"digest": &types.AttributeValueMemberB{Value: []byte{0xde, 0xad}},
			},
		}
		if next == 1 {
			in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
			in.ExpressionAttributeNames = map[string]string{"#pk": "pk"}
		} else {
			in.ConditionExpression = aws.String("attribute_exists(pk) AND #v = :expected")
			in.ExpressionAttributeNames = map[string]string{"#v": "version"}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{
				":expected": &types.AttributeValueMemberN{Value: strconv.Itoa(next - 1)},
			}
		}
		_, err := client.PutItem(ctx, in)
		return err
	}

	tests := []struct {
		name     string
		state    string
		next     int
		wantCode string
	}{
		{name: "Creating version 1 succeeds", state: "firing", next: 1},
		{name: "Moving from version 1 to 2 succeeds", state: "escalated", next: 2},
		{name: "A stale writer expecting version 1 fails", state: "resolved", next: 2, wantCode: "ConditionalCheckFailedException"},
		{name: "Creating version 1 again fails", state: "firing", next: 1, wantCode: "ConditionalCheckFailedException"},
		{name: "Moving from version 2 to 3 succeeds", state: "resolved", next: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := save(tt.state, tt.next)
			if got := dynamodbTestCode(err); got != tt.wantCode || tt.wantCode == "" && err != nil {
				t.Fatalf("save error = %v, want code %q", err, tt.wantCode)
			}
		})
	}

	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("alerts"),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "slo#checkout"},
			"sk": &types.AttributeValueMemberS{Value: "page"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if v := got.Item["version"].(*types.AttributeValueMemberN).Value; v != "3" {
		t.Errorf("version = %s, want 3", v)
	}
	if v := got.Item["state"].(*types.AttributeValueMemberS).Value; v != "resolved" {
		t.Errorf("state = %s, want resolved", v)
	}
	labels := got.Item["labels"].(*types.AttributeValueMemberM).Value
	if labels["team"].(*types.AttributeValueMemberS).Value != "payments" || labels["muted"].(*types.AttributeValueMemberBOOL).Value {
		t.Errorf("labels = %v", labels)
	}
	if h := got.Item["history"].(*types.AttributeValueMemberL).Value; len(h) != 2 {
		t.Errorf("history = %v", h)
	}
	if b := got.Item["digest"].(*types.AttributeValueMemberB).Value; string(b) != "\xde\xad" {
		t.Errorf("digest = %x", b)
	}
	if fake.ItemCount("alerts") != 1 {
		t.Errorf("ItemCount = %d, want 1", fake.ItemCount("alerts"))
	}
}

func TestDynamoDBUpdateItemIncrementsVersion(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "slo#checkout"},
		"sk": &types.AttributeValueMemberS{Value: "ticket"},
	}
	update := func(expected string) (*dynamodb.UpdateItemOutput, error) {
		return client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String("alerts"),
			Key:                      key,
			UpdateExpression:         aws.String("SET #s = :s, version = if_not_exists(version, :zero) + :one REMOVE obsolete"),
			ConditionExpression:      aws.String("attribute_not_exists(version) OR version = :expected"),
			ExpressionAttributeNames: map[string]string{"#s": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":s":        &types.AttributeValueMemberS{Value: "firing"},
				":zero":     &types.AttributeValueMemberN{Value: "0"},
				":one":      &types.AttributeValueMemberN{Value: "1"},
				":expected": &types.AttributeValueMemberN{Value: expected},
			},
			ReturnValues: types.ReturnValueAllNew,
		})
	}
	out, err := update("0")
	if err != nil {
		t.Fatalf("first UpdateItem: %v", err)
	}
	if v := out.Attributes["version"].(*types.AttributeValueMemberN).Value; v != "1" {
		t.Errorf("version after first update = %s, want 1", v)
	}
	if _, err := update("1"); err != nil {
		t.Fatalf("second UpdateItem: %v", err)
	}
	if _, err := update("1"); dynamodbTestCode(err) != "ConditionalCheckFailedException" {
		t.Fatalf("stale UpdateItem error = %v, want ConditionalCheckFailedException", err)
	}
}

func TestDynamoDBRequestErrors(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "a"},
		"sk": &types.AttributeValueMemberS{Value: "b"},
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantType any
	}{
		{
			name: "An unknown table is ResourceNotFoundException",
			call: func() error {
				_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key})
				return err
			},
			wantCode: "ResourceNotFoundException",
			wantType: &types.ResourceNotFoundException{},
		},
		{
			name: "An item without its sort key is a ValidationException",
			call: func() error {
				_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("alerts"), Item: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "a"},
				}})
				return err
			},
			wantCode: "ValidationException",
		},
		{
			name: "An undefined value placeholder is a ValidationException",
			call: func() error {
				_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("alerts"), Key: key,
					ConditionExpression: aws.String("version = :v")})
				return err
			},
			wantCode: "ValidationException",
		},
		{
			name: "An unused value placeholder is a ValidationException",
			call: func() error {
				_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("alerts"), Key: key,
					ConditionExpression:       aws.String("attribute_exists(pk)"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}}})
				return err
			},
			wantCode: "ValidationException",
		},
		{
			name: "A malformed condition is a ValidationException",
			call: func() error {
				_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("alerts"), Key: key,
					ConditionExpression: aws.String("attribute_exists(pk) AND")})
				return err
			},
			wantCode: "ValidationException",
		},
		{
			name: "A conditional delete of a missing item fails its check",
			call: func() error {
				_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("alerts"), Key: key,
					ConditionExpression: aws.String("attribute_exists(pk)")})
				return err
			},
			wantCode: "ConditionalCheckFailedException",
			wantType: &types.ConditionalCheckFailedException{},
		},
		{
			name: "Creating a table twice is ResourceInUseException",
			call: func() error {
				_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
					TableName:            aws.String("alerts"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
				})
				return err
			},
			wantCode: "ResourceInUseException",
			wantType: &types.ResourceInUseException{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := dynamodbTestCode(err); got != tt.wantCode {
				t.Fatalf("error = %v, want code %s", err, tt.wantCode)
			}
			if tt.wantType != nil && !errors.As(err, &tt.wantType) {
				t.Errorf("error is %T, want %T", err, tt.wantType)
			}
		})
	}
}

func TestDynamoDBConditionOperators(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "slo#latency"},
		"sk": &types.AttributeValueMemberS{Value: "page"},
	}
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("alerts"), Item: map[string]types.AttributeValue{
		"pk": key["pk"], "sk": key["sk"],
		"state":   &types.AttributeValueMemberS{Value: "firing"},
		"version": &types.AttributeValueMemberN{Value: "7"},
	}})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	tests := []struct {
		name string
		cond string
		want bool
	}{
		{"Equal strings match", "#s = :firing", true},
		{"Numbers compare by value, not by text", "version = :sevenPointZero", true},
		{"Not-equal fails on the stored value", "#s <> :firing", false},
		{"Not-equal holds for a missing attribute", "missing <> :firing", true},
		{"OR holds when one side holds", "#s = :ok OR version = :sevenPointZero", true},
		{"AND fails when one side fails", "#s = :firing AND attribute_not_exists(version)", false},
		{"Parentheses and NOT group as written", "NOT (#s = :ok) AND (version > :six)", true},
		{"Comparing different types is false", "version = :firing", false},
	}
	values := map[string]types.AttributeValue{
		":firing":         &types.AttributeValueMemberS{Value: "firing"},
		":ok":             &types.AttributeValueMemberS{Value: "ok"},
		":sevenPointZero": &types.AttributeValueMemberN{Value: "7.0"},
		":six":            &types.AttributeValueMemberN{Value: "6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := map[string]types.AttributeValue{}
			for k, v := range values {
				if dynamodbTestUses(tt.cond, k) {
					used[k] = v
				}
			}
			in := &dynamodb.DeleteItemInput{
				TableName:                 aws.String("alerts"),
				Key:                       key,
				ConditionExpression:       aws.String(tt.cond),
				ExpressionAttributeValues: used,
			}
			if dynamodbTestUses(tt.cond, "#s") {
				in.ExpressionAttributeNames = map[string]string{"#s": "state"}
			}
			// Wrap in a condition that cannot hold, so the item survives
			// every case: the fake reports which branch decided.
			in.ConditionExpression = aws.String("(" + tt.cond + ") AND attribute_not_exists(pk)")
			_, err := client.DeleteItem(ctx, in)
			if dynamodbTestCode(err) != "ConditionalCheckFailedException" {
				t.Fatalf("guarded delete error = %v", err)
			}
			in.ConditionExpression = aws.String("(" + tt.cond + ") OR attribute_not_exists(pk)")
			_, err = client.DeleteItem(ctx, in)
			held := err == nil
			if err != nil && dynamodbTestCode(err) != "ConditionalCheckFailedException" {
				t.Fatalf("DeleteItem: %v", err)
			}
			if held != tt.want {
				t.Errorf("condition %q held = %v, want %v", tt.cond, held, tt.want)
			}
			if held {
				_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("alerts"), Item: map[string]types.AttributeValue{
					"pk": key["pk"], "sk": key["sk"],
					"state":   &types.AttributeValueMemberS{Value: "firing"},
					"version": &types.AttributeValueMemberN{Value: "7"},
				}})
				if err != nil {
					t.Fatalf("restoring the item: %v", err)
				}
			}
		})
	}
}

// dynamodbTestUses reports whether placeholder appears in expr as a whole token.
func dynamodbTestUses(expr, placeholder string) bool {
	toks, err := dynamodbLex(expr)
	if err != nil {
		return false
	}
	for _, t := range toks {
		if t.text == placeholder {
			return true
		}
	}
	return false
}

func TestDynamoDBQueryPagesByPartitionKey(t *testing.T) {
	ctx := context.Background()
	_, client := dynamodbTestTable(t)
	for _, item := range []struct{ pk, sk string }{
		{"slo#a", "page"}, {"slo#a", "ticket"}, {"slo#a", "reminder"}, {"slo#b", "page"},
	} {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("alerts"), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: item.pk},
			"sk": &types.AttributeValueMemberS{Value: item.sk},
		}}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
	var got []string
	pager := dynamodb.NewQueryPaginator(client, &dynamodb.QueryInput{
		TableName:                 aws.String("alerts"),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "slo#a"}},
		Limit:                     aws.Int32(2),
	})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		pages++
		for _, it := range page.Items {
			got = append(got, it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	want := []string{"page", "reminder", "ticket"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("query returned %v, want %v", got, want)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}

	scan, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("alerts")})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if scan.Count != 4 {
		t.Errorf("Scan count = %d, want 4", scan.Count)
	}
}

func TestDynamoDBThrottleThenSuccess(t *testing.T) {
	fake, client := dynamodbTestTable(t)
	fake.Throttle("GetItem", 2)
	_, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String("alerts"),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "a"},
			"sk": &types.AttributeValueMemberS{Value: "b"},
		},
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if got := fake.Calls("GetItem"); got != 3 {
		t.Errorf("Calls(GetItem) = %d, want 3", got)
	}
}
