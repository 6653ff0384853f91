package alerting

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// DynamoDBStore keeps alerts in a DynamoDB table, one item per alert
// (partition key "pk", the alert's dedupe key), for the Lambda evaluator,
// where nothing survives between invocations. Every write is conditional
// on the version attribute it read, so two invocations that overlap never
// both page.
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

// CreateTable creates the table on demand billing; the deploy templates
// do the same. A table that exists already is not an error.
func (s *DynamoDBStore) CreateTable(ctx context.Context) error {
	_, err := s.api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(s.table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	return err
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
	return nil
}
